import { describe, expect, it } from 'vitest';
import { RegistryError, UnsafeCommandError } from '../../src/domain/errors.js';
import { parseShellWords } from '../../src/domain/shell-words.js';
import { shellJoin } from '../../src/interfaces/cli/shell-quote.js';

describe('parseShellWords: what a POSIX shell would split the same way', () => {
  it.each<[string, string[]]>([
    ['node server.js --stdio', ['node', 'server.js', '--stdio']],
    ['  node\tserver.js   --stdio  ', ['node', 'server.js', '--stdio']],
    ["node 'my server.js' --name 'a b  c'", ['node', 'my server.js', '--name', 'a b  c']],
    ['node "my server.js" --name "a b"', ['node', 'my server.js', '--name', 'a b']],
    ['node my\\ server.js', ['node', 'my server.js']],
    ["node 'it'\\''s'", ['node', "it's"]],
    ['echo "say \\"hi\\"" "back\\\\slash"', ['echo', 'say "hi"', 'back\\slash']],
    ['echo "\\$HOME" "\\`id\\`"', ['echo', '$HOME', '`id`']],
    ['echo "keep \\n and \\x"', ['echo', 'keep \\n and \\x']],
    ["echo '$HOME' '`id`' '|;&<>(){}*?[]~#'", ['echo', '$HOME', '`id`', '|;&<>(){}*?[]~#']],
    ['echo "a|b;c&d<e>f(g)h{i}j*k?l[m]n~o#p"', ['echo', 'a|b;c&d<e>f(g)h{i}j*k?l[m]n~o#p']],
    ['echo \\| \\; \\& \\$x \\* \\~ \\#', ['echo', '|', ';', '&', '$x', '*', '~', '#']],
    ["echo '' \"\" x", ['echo', '', '', 'x']],
    ['echo a""b c\'\'d', ['echo', 'ab', 'cd']],
    ['echo "a"\'b\'c', ['echo', 'abc']],
    ['node server.js \\\n  --stdio', ['node', 'server.js', '--stdio']],
    ["echo 'line one\nline two'", ['echo', 'line one\nline two']],
    ['node a#b x~y key=value', ['node', 'a#b', 'x~y', 'key=value']],
    ['/usr/bin/python3 -m marcus_mcp.server --port=0', ['/usr/bin/python3', '-m', 'marcus_mcp.server', '--port=0']],
    ["'FOO=bar' x", ['FOO=bar', 'x']],
    ['\\FOO=bar x', ['FOO=bar', 'x']],
    ['node ünïcødé.js 日本語', ['node', 'ünïcødé.js', '日本語']],
    ['echo a]b !x', ['echo', 'a]b', '!x']],
  ])('%j', (line, argv) => {
    expect(parseShellWords(line)).toEqual(argv);
  });

  it('round-trips what run writes as mcp_command (shellJoin) for hostile arguments', () => {
    const hostile = [
      ['node', 'server.js'],
      ['node', "it's", 'a "quote"', 'back\\slash', '$(id)', '`id`', '$HOME', 'a b', '', ' ', '\t', 'new\nline', '*', '~', '#x', 'a;b', '|', '&&'],
      ['/opt/my dir/bin', '--x=y z', "''", '"'],
    ];
    for (const argv of hostile) expect(parseShellWords(shellJoin(argv))).toEqual(argv);
  });
});

describe('parseShellWords: refuses what needs a shell', () => {
  it.each<[string, RegExp]>([
    ['node server.js | tee log', /pipe/],
    ['node server.js; rm -rf ~', /command separator/],
    ['node server.js && curl x', /&&|background/],
    ['node server.js &', /background/],
    ['node server.js || true', /pipe/],
    ['node $(cat evil)', /parameter expansion or command substitution/],
    ['node `cat evil`', /command substitution/],
    ['node "$(cat evil)"', /\$ inside double quotes/],
    ['node "`cat evil`"', /backquote inside double quotes/],
    ['node $HOME/server.js', /parameter expansion/],
    ['node ${HOME}/server.js', /parameter expansion/],
    ['node "$HOME/server.js"', /\$ inside double quotes/],
    ['node server.js > /tmp/out', /redirection/],
    ['node server.js 2>&1', /redirection/],
    ['node < /etc/passwd', /redirection/],
    ['node <(cat evil)', /redirection/],
    ['(node server.js)', /subshell/],
    ['node *.js', /glob/],
    ['node server?.js', /glob/],
    ['node [ab].js', /glob/],
    ['node {a,b}.js', /brace expansion/],
    ['node ~/server.js', /leading ~/],
    ['node server.js # comment', /comment/],
    ['#node server.js', /comment/],
    ['node server.js\nrm -rf /', /line break/],
    ['node server.js\r\nx', /line break/],
    ["node 'unbalanced", /unbalanced single quote/],
    ['node "unbalanced', /unbalanced double quote/],
    ['node "ends in backslash\\', /unbalanced double quote/],
    ['node server.js \\', /trailing backslash/],
    ['FOO=bar node server.js', /assignment/],
    ['PATH="/tmp" node', /assignment/],
    ['node a\0b', /NUL/],
    ["node 'a\0b'", /NUL/],
    ['node "a\0b"', /NUL/],
    ['node \\\0', /NUL/],
    ['', /no command/],
    ['   \t  ', /no command/],
  ])('%j', (line, reason) => {
    let caught: unknown;
    try {
      parseShellWords(line);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnsafeCommandError);
    const error = caught as UnsafeCommandError;
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.code).toBe('UNSAFE_COMMAND');
    expect(error.name).toBe('UnsafeCommandError');
    expect(String(error.details['reason'])).toMatch(reason);
    expect(error.message).toMatch(/without a shell/);
  });

  it('says where the refused character is', () => {
    const error = (() => {
      try {
        parseShellWords('node a.js | b');
      } catch (e) {
        return e as UnsafeCommandError;
      }
      return undefined;
    })();
    expect(error?.details['position']).toBe(10);
    expect(error?.message).toMatch(/at character 11/);
  });

  it('keeps a huge hostile input bounded in the error and does not hang', () => {
    const line = `node ${'"'.repeat(1)}${'a'.repeat(60_000)}`;
    expect(() => parseShellWords(line)).toThrow(UnsafeCommandError);
    try {
      parseShellWords(line);
    } catch (error) {
      expect((error as UnsafeCommandError).message.length).toBeLessThan(600);
      expect(JSON.stringify((error as UnsafeCommandError).toJSON()).length).toBeLessThan(2_000);
    }
  });
});
