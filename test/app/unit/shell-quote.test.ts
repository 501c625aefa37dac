import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellJoin } from '../../../src/interfaces/cli/shell-quote.js';

/** Runs the joined command line through a real POSIX sh and gets argv back, NUL-separated. */
function throughShell(argv: readonly string[]): string[] {
  const child = spawnSync('sh', ['-c', `printf '%s\\0' ${shellJoin(argv)}`], { encoding: 'utf8', timeout: 30_000 });
  if (child.status !== 0) throw new Error(`sh failed (${child.status}): ${child.stderr}`);
  const parts = child.stdout.split('\0');
  parts.pop(); // after the last NUL
  return parts;
}

describe('shellJoin', () => {
  it('leaves plain words unquoted', () => {
    expect(shellJoin(['node', '/opt/marcus/server.js', '--port=4298', 'a,b', 'user@host', '50%', 'x+y', 'k:v'])).toBe(
      'node /opt/marcus/server.js --port=4298 a,b user@host 50% x+y k:v',
    );
  });

  it('quotes an argument with spaces', () => {
    expect(shellJoin(['echo', 'hello world'])).toBe("echo 'hello world'");
  });

  it('quotes the empty string as two single quotes', () => {
    expect(shellJoin(['a', '', 'b'])).toBe("a '' b");
  });

  it("escapes single quotes as '\\''", () => {
    expect(shellJoin(["it's"])).toBe("'it'\\''s'");
  });

  it('quotes $, backticks, globs and other metacharacters', () => {
    for (const arg of ['$HOME', '`id`', '*.json', 'a;b', 'a|b', 'a&b', 'a>b', '(x)', '~', '!x', 'a\\b', '"q"', '#x', '{a,b}']) {
      expect(shellJoin([arg])).toMatch(/^'.*'$/s);
    }
  });

  it('joins nothing into an empty string', () => {
    expect(shellJoin([])).toBe('');
  });

  it('round-trips through a real sh', () => {
    const argv = [
      'node',
      '/opt/my server/server.js',
      '',
      "it's",
      '"double"',
      '$HOME',
      '${PATH}',
      '$(id)',
      '`id`',
      '*',
      '~',
      'a\\b\\\\c',
      'semi;colon',
      'pipe|amp&',
      'new\nline',
      'tab\there',
      "'",
      "''",
      '!bang',
      '--flag=a b',
      'ünïcødé ☕',
      '-n',
      '-e',
    ];
    expect(throughShell(argv)).toEqual(argv);
  });

  it('round-trips every printable ASCII character on its own', () => {
    const argv = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    expect(throughShell(argv)).toEqual(argv);
  });
});
