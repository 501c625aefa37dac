import { parse } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { problemLines } from '../format.js';
import { debugWanted, openRegistry } from '../open-registry.js';

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {});
  await using registry = await openRegistry(values, { readOnly: true });
  const report = await registry.prune();
  if (values.json) {
    const removed = report.removed.map((r) => ({ instance_id: r.record.instance_id, pid: r.record.pid, reason: r.reason, detail: r.detail }));
    process.stdout.write(`${JSON.stringify({ removed, kept: report.kept, problems: report.problems }, null, 2)}\n`);
  } else {
    for (const r of report.removed) process.stdout.write(`removed ${r.record.instance_id} (${r.reason}: ${r.detail})\n`);
    if (report.removed.length === 0) process.stdout.write('Nothing to prune.\n');
    process.stderr.write(problemLines(report.problems, { notes: debugWanted(values) }));
  }
  return EXIT.OK;
}
