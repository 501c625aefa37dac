import { entryJson } from '../../entry-json.js';
import { FILTER_OPTIONS, filtersFrom, instanceIdArgument, parse } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { recordDetails } from '../format.js';
import { openRegistry } from '../open-registry.js';

/** `preferred`: the instance a client should use; `--json` `{health, reason?, detail?, record}`, `--records` the plain record; exit 3 when none. */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, instance: { type: 'string' }, records: { type: 'boolean' } });
  await using registry = await openRegistry(values, { readOnly: true });
  // An explicit --instance is strict; MARCUS_INSTANCE_ID only ranks first.
  const filters = { ...filtersFrom(values), instanceId: instanceIdArgument(values.instance, '--instance') };
  const record = await registry.preferred({ filters, project: filters.project });
  // Judged again for its health: an entry gone in between means none matches now.
  const entry = record && (await registry.get(record.instance_id));
  if (!record || !entry || entry.health === 'stale') {
    process.stderr.write('marcus-registry: no running instance matches\n');
    return EXIT.NONE;
  }
  if (values.records) process.stdout.write(`${JSON.stringify(entry.record, null, 2)}\n`);
  else if (values.json) process.stdout.write(`${JSON.stringify(entryJson(entry), null, 2)}\n`);
  else process.stdout.write(recordDetails(entry.record, entry.reason ? `${entry.health} (${entry.reason}: ${entry.detail})` : entry.health));
  return EXIT.OK;
}
