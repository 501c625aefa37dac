import { entryJson } from '../../../app/entry-json.js';
import { isRegistryError } from '../../../domain/errors.js';
import { instanceIdArgument, parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { recordDetails } from '../format.js';
import { openRegistry } from '../open-registry.js';
import { writeErr, writeOut } from '../stdio-write.js';

/**
 * `show ID`: one entry, even a stale one (nothing is removed). `--json`:
 * `{health, reason?, detail?, record}` (as GET /v1/services/ID); `--records`:
 * the plain on-disk record. Exit 0 for a live instance (healthy or
 * unresponsive), 3 when it is absent — and 3 for a stale entry too, which is
 * still printed (so a script's `if show ID` means "it runs").
 */
export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { records: { type: 'boolean' } }, true);
  if (positionals.length !== 1) throw new UsageError('show takes exactly one instance id');
  const id = instanceIdArgument(positionals[0] as string, 'instance id');
  await using registry = await openRegistry(values, { readOnly: true });
  // An id outside our own naming rule may still be no entry at all: absent, as for --instance.
  const entry = await registry.get(id).catch((error: unknown) => {
    if (isRegistryError(error) && error.code === 'INVALID_INSTANCE_ID') return undefined;
    throw error;
  });
  if (!entry) {
    writeErr(`marcus-registry: no instance ${id}\n`);
    return EXIT.NONE;
  }
  if (values.records) writeOut(`${JSON.stringify(entry.record, null, 2)}\n`);
  else if (values.json) writeOut(`${JSON.stringify(entryJson(entry), null, 2)}\n`);
  else writeOut(recordDetails(entry.record, entry.reason ? `${entry.health} (${entry.reason}: ${entry.detail})` : entry.health));
  if (entry.health !== 'stale') return EXIT.OK;
  writeErr(`marcus-registry: instance ${id} is stale (${entry.reason}: ${entry.detail}); exit 3\n`);
  return EXIT.NONE;
}
