/** What the registry tells its host about things it handled by itself. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Says nothing: the default of the library and of every store (a library speaks only when its host asks). */
export const silentLogger: Logger = {
  debug() {},
  warn() {},
  error() {},
};
