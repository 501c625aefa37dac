import { byStartedAt, matchesFilters } from '../../../domain/filters.js';
import { FILTER_OPTIONS, filtersFrom, parse } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { problemLines, servicesTable } from '../format.js';
import { openRegistry } from '../open-registry.js';

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, all: { type: 'boolean' } });
  await using registry = await openRegistry(values);
  const all = values.all === true;
  // --all is a view: it shows stale entries too and removes nothing.
  const filters = filtersFrom(values);
  const report = await registry.inspect({ filters, prune: !all });
  const stale = report.stale.filter((e) => matchesFilters(e.record, filters));
  const entries = all ? [...report.services, ...stale].sort((a, b) => byStartedAt(a.record, b.record)) : report.services;
  if (values.json) process.stdout.write(`${JSON.stringify(entries.map((e) => e.record), null, 2)}\n`);
  else if (entries.length === 0) {
    const filtered = Object.values(filters).some((v) => v !== undefined);
    process.stdout.write(filtered ? 'No Marcus instance matches these filters.\n' : 'No Marcus instances are registered.\n');
  }
  else process.stdout.write(servicesTable(entries, Date.now()));
  process.stderr.write(problemLines(report.problems));
  return EXIT.OK;
}
