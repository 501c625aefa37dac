import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordJsonSchema } from '../../src/domain/record.json-schema.js';

describe('published JSON Schema', () => {
  it('matches the zod schema it is generated from (run `npm run build && npm run schema` after changing the record)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../schema/record.schema.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(recordJsonSchema());
  });

  it('names the required keys the Python writer always writes and allows unknown keys', () => {
    const schema = recordJsonSchema() as { required: string[]; additionalProperties: unknown; properties: Record<string, { pattern?: string }> };
    expect([...schema.required].sort()).toEqual(
      ['instance_id', 'pid', 'mcp_command', 'log_dir', 'project_name', 'provider', 'status', 'started_at', 'last_heartbeat', 'platform', 'working_directory'].sort(),
    );
    expect(schema.additionalProperties).not.toBe(false);
    expect(schema.properties['instance_id']?.pattern).toBe('^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$');
  });
});
