// One torture discoverer: runs registry.inspect() (discovery with pruning, as
// every client does) in a loop until SIGTERM. One JSON line per discovery:
//   {"t":"d","s":<start epoch ms>,"e":<end epoch ms>,"ids":[...live instance ids],
//    "p":[[entry, code, action], ...problems],"r":[...removed ids]}
//   {"t":"derr","s","e","code","m"}   a discovery that threw
// argv: <store-uri> <pauseMs>
import { createRegistry } from '../../dist/index.js';

const [store, pause = '5'] = process.argv.slice(2);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const registry = await createRegistry({ store });
let running = true;
process.on('SIGTERM', () => (running = false));
emit({ t: 'ready' });

while (running) {
  const s = Date.now();
  try {
    const report = await registry.inspect();
    emit({
      t: 'd',
      s,
      e: Date.now(),
      ids: report.services.map((x) => x.record.instance_id),
      p: report.problems.map((p) => [p.entry, p.code, p.action]),
      r: report.removed.map((x) => x.record.instance_id),
    });
  } catch (error) {
    emit({ t: 'derr', s, e: Date.now(), code: error?.code ?? null, m: String(error?.message ?? error) });
  }
  await new Promise((resolve) => setTimeout(resolve, Number(pause)));
}
await registry.close();
process.exit(0);
