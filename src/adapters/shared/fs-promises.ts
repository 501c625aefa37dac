import type * as FsPromises from 'node:fs/promises';

/**
 * node:fs/promises, loaded when first called. Importing it at start-up loads
 * ten of Node's built-in modules (its readline interface and file watchers
 * among them: ~4 ms of a `list` on a 2-core machine), which a listing that
 * reads with synchronous calls never uses. Write paths and single reads call
 * this; it is Node's own module cache after the first call.
 */
export function fsPromises(): typeof FsPromises {
  return process.getBuiltinModule('node:fs/promises');
}
