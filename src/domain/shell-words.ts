import { UnsafeCommandError } from './errors.js';

/**
 * Splits a POSIX shell command line into argv WITHOUT a shell, for a record
 * that has `mcp_command` but no `mcp_args` (older Python writers).
 *
 * Understood, as a POSIX shell does: blanks between words, 'single quotes'
 * (everything literal), "double quotes" (backslash escapes only $ ` " \ and a
 * newline), a backslash outside quotes (escapes the next character), and a
 * backslash-newline (a line continuation).
 *
 * Refused with UnsafeCommandError, because a shell would give the line a
 * meaning that argv cannot have: unbalanced quotes, a trailing backslash,
 * operators and redirections (| & ; < > ( )), command substitution and
 * parameter expansion ($ and ` — also inside double quotes), globs (* ? [),
 * brace expansion ({ }), tilde expansion (a leading ~), comments (a leading #),
 * an unquoted newline (a second command), leading NAME=value assignments, NUL,
 * and a line with no words. Nothing is expanded, nothing is globbed, nothing
 * is run: a refusal is always safer than a guess.
 */
export function parseShellWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  /** Characters of the current word read before its first quote or escape (an assignment is only `NAME=` unquoted). */
  let plainPrefix = '';
  let quotedYet = false;
  const fail = (reason: string, at: number): never => {
    throw new UnsafeCommandError(command, reason, at);
  };
  const finish = () => {
    if (!inWord) return;
    if (words.length === 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(plainPrefix)) {
      fail('a leading NAME=value assignment sets an environment variable in a shell', 0);
    }
    words.push(word);
    word = '';
    plainPrefix = '';
    quotedYet = false;
    inWord = false;
  };
  const append = (text: string, quoted: boolean) => {
    inWord = true;
    word += text;
    if (quoted) quotedYet = true;
    else if (!quotedYet) plainPrefix += text;
  };

  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (c === '\0') fail('a NUL character', i);
    if (c === ' ' || c === '\t') {
      finish();
      continue;
    }
    if (c === '\n' || c === '\r') fail('an unquoted line break (a shell would run a second command)', i);
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end === -1) fail('an unbalanced single quote', i);
      const text = command.slice(i + 1, end);
      if (text.includes('\0')) fail('a NUL character', i + 1 + text.indexOf('\0'));
      append(text, true);
      i = end;
      continue;
    }
    if (c === '"') {
      let text = '';
      let j = i + 1;
      for (; j < command.length; j++) {
        const d = command[j] as string;
        if (d === '"') break;
        if (d === '\0') fail('a NUL character', j);
        if (d === '$') fail('a $ inside double quotes (a shell would expand it)', j);
        if (d === '`') fail('a backquote inside double quotes (command substitution)', j);
        if (d === '\\') {
          const next = command[j + 1];
          if (next === undefined) fail('an unbalanced double quote', i);
          if (next === '\n') {
            j++;
            continue;
          }
          if (next === '$' || next === '`' || next === '"' || next === '\\') {
            text += next;
            j++;
            continue;
          }
          text += d;
          continue;
        }
        text += d;
      }
      if (j >= command.length) fail('an unbalanced double quote', i);
      append(text, true);
      i = j;
      continue;
    }
    if (c === '\\') {
      const next = command[i + 1];
      if (next === undefined) fail('a trailing backslash', i);
      if (next === '\0') fail('a NUL character', i + 1);
      i++;
      if (next === '\n') continue; // line continuation: removed, joins the word
      append(next as string, true);
      continue;
    }
    const refusal = UNQUOTED[c];
    if (refusal !== undefined) fail(`an unquoted ${JSON.stringify(c)} (${refusal})`, i);
    if (!inWord && c === '~') fail('a leading ~ (a shell would expand it to a home directory)', i);
    if (!inWord && c === '#') fail('a leading # (a shell would ignore the rest as a comment)', i);
    append(c, false);
  }
  finish();
  if (words.length === 0) throw new UnsafeCommandError(command, 'there is no command in it');
  return words;
}

/** Characters that mean something to a shell when unquoted, and what. */
const UNQUOTED: Readonly<Record<string, string>> = {
  '|': 'a pipe',
  '&': 'a background or && operator',
  ';': 'a command separator',
  '<': 'a redirection',
  '>': 'a redirection',
  '(': 'a subshell',
  ')': 'a subshell',
  $: 'parameter expansion or command substitution',
  '`': 'command substitution',
  '*': 'a glob',
  '?': 'a glob',
  '[': 'a glob',
  '{': 'brace expansion',
  '}': 'brace expansion',
};
