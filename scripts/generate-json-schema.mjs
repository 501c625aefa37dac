// Writes schema/record.schema.json from the zod record schema (run after `npm run build`).
// Clients in other languages validate records against it; a test keeps it in sync.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { recordJsonSchema } from '../dist/domain/record.json-schema.js';

const target = fileURLToPath(new URL('../schema/record.schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(recordJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
