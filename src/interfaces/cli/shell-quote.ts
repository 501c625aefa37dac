/** POSIX shell quoting, so `mcp_command` stays one runnable string for the Python clients. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

function quote(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
