/**
 * How deeply a record's JSON may nest. JSON.parse reads any depth, but
 * JSON.stringify (and so every writer, and every client printing the record)
 * overflows the stack on a value some thousands of levels deep. Records keep
 * unknown keys and write them back, so a record nested deeper than this is
 * refused as invalid rather than handed to clients. Real records nest 3 levels.
 */
export const MAX_RECORD_DEPTH = 64;

/** Whether `value` nests objects/arrays deeper than `maxDepth` levels. Iterative: never overflows itself. */
export function exceedsDepth(value: unknown, maxDepth: number = MAX_RECORD_DEPTH): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current !== 'object' || current === null) continue;
    if (depth > maxDepth) return true;
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}
