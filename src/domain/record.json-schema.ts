import * as z from 'zod/mini';
import { recordSchema } from './record.schema.js';

/**
 * The record schema as JSON Schema (draft 2020-12), for clients in other
 * languages. Timestamps are strings whose ISO 8601 check lives in code.
 */
export function recordJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(recordSchema(), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $id: 'urn:marcus-registry:record:v1',
    title: 'Marcus service registry record, version 1',
    description:
      'One running Marcus instance as written to ~/.marcus/services/<instance_id>.json (snake_case keys shared with the Python registry). Unknown keys are allowed and must be preserved by writers.',
    ...schema,
  };
}
