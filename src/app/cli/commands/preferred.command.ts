import { FILTER_OPTIONS, filtersFrom, parse } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { recordDetails } from '../format.js';
import { openRegistry } from '../open-registry.js';

export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, instance: { type: 'string' } });
  await using registry = await openRegistry(values);
  // An explicit --instance is strict; MARCUS_INSTANCE_ID only ranks first.
  const filters = { ...filtersFrom(values), instanceId: values.instance };
  const record = await registry.preferred({ filters, project: filters.project });
  if (!record) {
    process.stderr.write('marcus-registry: no running instance matches\n');
    return EXIT.NONE;
  }
  process.stdout.write(values.json ? `${JSON.stringify(record, null, 2)}\n` : recordDetails(record));
  return EXIT.OK;
}
