import { entryJson } from '../../../app/entry-json.js';
import { FILTER_OPTIONS, filtersFrom, instanceIdArgument, parse } from '../args.js';
import { EXIT } from '../exit-codes.js';
import { recordDetails } from '../format.js';
import { openRegistry } from '../open-registry.js';
import { writeErr, writeOut } from '../stdio-write.js';

/** `preferred`: the instance a client should use; `--json` `{health, reason?, detail?, record}`, `--records` the plain record; exit 3 when none. */
export async function run(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { ...FILTER_OPTIONS, instance: { type: 'string' }, records: { type: 'boolean' } });
  await using registry = await openRegistry(values, { readOnly: true });
  // An explicit --instance is strict; MARCUS_INSTANCE_ID only ranks first.
  const filters = { ...filtersFrom(values), instanceId: instanceIdArgument(values.instance, '--instance') };
  const entry = await registry.preferredEntry({ filters, project: filters.project });
  if (!entry) {
    writeErr('marcus-registry: no running instance matches\n');
    return EXIT.NONE;
  }
  if (values.records) writeOut(`${JSON.stringify(entry.record, null, 2)}\n`);
  else if (values.json) writeOut(`${JSON.stringify(entryJson(entry), null, 2)}\n`);
  else writeOut(recordDetails(entry.record, entry.reason ? `${entry.health} (${entry.reason}: ${entry.detail})` : entry.health));
  return EXIT.OK;
}
