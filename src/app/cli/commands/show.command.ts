import { parse } from '../args.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { recordDetails } from '../format.js';
import { openRegistry } from '../open-registry.js';

export async function run(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {}, true);
  if (positionals.length !== 1) throw new UsageError('show takes exactly one instance id');
  const id = positionals[0] as string;
  await using registry = await openRegistry(values);
  const entry = await registry.get(id);
  if (!entry) {
    process.stderr.write(`marcus-registry: no instance ${id}\n`);
    return EXIT.NONE;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(entry.record, null, 2)}\n`);
  else process.stdout.write(recordDetails(entry.record, entry.reason ? `${entry.health} (${entry.reason}: ${entry.detail})` : entry.health));
  return EXIT.OK;
}
