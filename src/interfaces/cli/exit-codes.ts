/** The CLI's exit codes (documented in the README). `run` exits with its child's code instead. */
export const EXIT = {
  OK: 0,
  /** The store or the system failed (the message says which error code). */
  ERROR: 1,
  /** Bad command line. */
  USAGE: 2,
  /** No instance matched (preferred, show). */
  NONE: 3,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
  /** A RegistryError code the message ends with (`[INVALID_INSTANCE_ID]`), when the bad input has one. */
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
