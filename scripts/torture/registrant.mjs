// One torture registrant: registers through the public facade (compiled dist/),
// heartbeats every <beatMs>, and after every beat interval checks that its own
// entry is still in the store. Prints one JSON line per event on stdout:
//   {"t":"registered","id","pid","at"}       after register() resolved (epoch ms)
//   {"t":"missing","at"}                     its own entry was absent from the store
//   {"t":"self-heal","at"}                   the heartbeat found the entry gone and re-created it
//   {"t":"warn"|"error","at","m"}            anything else the registry logged (a failed beat)
//   {"t":"summary","checks"}                 on SIGTERM, before it unregisters and exits 0
// argv: <store-uri> <beatMs>
import { createRegistry } from '../../dist/index.js';

const [store, beat = '100'] = process.argv.slice(2);
const beatMs = Number(beat);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

const logger = {
  debug() {},
  warn(m, f) {
    if (m.includes('registering it again')) emit({ t: 'self-heal', at: Date.now() });
    else emit({ t: 'warn', at: Date.now(), m: `${m} ${f ? JSON.stringify(f) : ''}` });
  },
  error(m, f) {
    emit({ t: 'error', at: Date.now(), m: `${m} ${f ? JSON.stringify(f) : ''}` });
  },
};

const registry = await createRegistry({ store, logger });
const record = await registry.register({
  mcpCommand: 'node scripts/torture/registrant.mjs',
  projectName: 'torture',
  provider: 'torture',
  heartbeatIntervalMs: beatMs,
});
const id = record.instance_id;
emit({ t: 'registered', id, pid: process.pid, at: Date.now() });

let checks = 0;
let stopping = false;
async function check() {
  if (stopping) return;
  try {
    const entry = await registry.get(id);
    checks++;
    if (!stopping && entry === undefined) emit({ t: 'missing', at: Date.now() });
    else if (entry && entry.record.pid !== process.pid) emit({ t: 'error', at: Date.now(), m: `entry ${id} holds pid ${entry.record.pid}` });
  } catch (error) {
    emit({ t: 'error', at: Date.now(), m: `self-check failed: ${error?.code ?? ''} ${error?.message ?? error}` });
  }
  if (!stopping) setTimeout(check, beatMs);
}
setTimeout(check, beatMs);

process.on('SIGTERM', () => {
  stopping = true;
  emit({ t: 'summary', checks });
  registry.close().then(
    () => process.exit(0),
    (error) => {
      emit({ t: 'error', at: Date.now(), m: `close failed: ${error?.message ?? error}` });
      process.exit(1);
    },
  );
});
