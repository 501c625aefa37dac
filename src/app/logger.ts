import type { Logger } from '../ports/logger.port.js';

/** The default: a library says nothing unless its host asks. */
export { silentLogger } from '../ports/logger.port.js';

/** One line per message on stderr (stdout belongs to the CLI's output and to MCP traffic). */
export function stderrLogger(options: { debug?: boolean } = {}): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>) => {
    const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`marcus-registry ${level}: ${message}${suffix}\n`);
  };
  return {
    debug: (m, f) => {
      if (options.debug) write('debug', m, f);
    },
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
