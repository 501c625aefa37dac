import { foreignFieldsOf } from '../../domain/foreign-fields.js';
import type { ServiceRecord } from '../../domain/record.schema.js';
import type { StoreProblem } from '../../ports/store.port.js';

/**
 * A note (IGNORED_FIELD, action 'noted') for each key of a listed record that
 * our logic ignores because of its type. Keys read in our type (epoch seconds,
 * "1") are not noted: their meaning was clear.
 */
export function foreignFieldNotes(record: ServiceRecord, entry: string): StoreProblem[] {
  const notes: StoreProblem[] = [];
  for (const field of foreignFieldsOf(record)) {
    if (field.used !== undefined) continue;
    notes.push({
      code: 'IGNORED_FIELD',
      entry,
      message: `${field.key} = ${preview(field.original)} is not a shape this reader uses (${field.reason}): not used as such, kept in the record as written`,
      action: 'noted',
    });
  }
  return notes;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
