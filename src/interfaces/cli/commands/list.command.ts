import { byStartedAt } from '../../../domain/filters.js';
import { entryJson } from '../../../app/entry-json.js';
import { FILTER_OPTIONS, filtersFrom, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { problemLines, servicesTable } from '../format.js';
import { debugWanted, openRegistry } from '../open-registry.js';
import { writeErr, writeOut } from '../stdio-write.js';

export const LIST_OPTIONS = {
  ...FILTER_OPTIONS,
  all: { type: 'boolean' },
  records: { type: 'boolean' },
  jsonl: { type: 'boolean' },
  ndjson: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  'no-headers': { type: 'boolean' },
} as const;

/**
 * `list`: a table; `--json` a JSON array of `{health, reason?, detail?, record}`
 * (as GET /v1/services); `--jsonl`/`--ndjson` one such object per line;
 * `--records` the plain on-disk records instead (an array, or one per line with
 * --jsonl); `-q` the ids only; `--no-headers` the table without its header.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, LIST_OPTIONS);
  const lines = values.jsonl === true || values.ndjson === true;
  const json = values.json === true || lines || values.records === true;
  if (values.quiet && json) throw new UsageError('-q prints ids only: it cannot be combined with --json, --jsonl or --records');
  await using registry = await openRegistry(values, { readOnly: true });
  const all = values.all === true;
  // --all is a view: it shows stale entries too and removes nothing.
  const filters = filtersFrom(values);
  const report = await registry.inspect({ filters, prune: !all });
  const entries = all ? [...report.services, ...report.stale].sort((a, b) => byStartedAt(a.record, b.record)) : report.services;
  if (json) {
    const items = entries.map((e) => (values.records ? e.record : entryJson(e)));
    writeOut(lines ? items.map((item) => `${JSON.stringify(item)}\n`).join('') : `${JSON.stringify(items, null, 2)}\n`);
  } else if (values.quiet) writeOut(entries.map((e) => `${e.record.instance_id}\n`).join(''));
  else if (entries.length === 0) {
    if (!values['no-headers']) {
      const filtered = Object.values(filters).some((v) => v !== undefined);
      writeOut(filtered ? 'No Marcus instance matches these filters.\n' : 'No Marcus instances are registered.\n');
    }
  } else writeOut(servicesTable(entries, Date.now(), { headers: values['no-headers'] !== true }));
  writeErr(problemLines(report.problems, { notes: debugWanted(values) }));
  return EXIT.OK;
}
