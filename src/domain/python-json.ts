/**
 * Python's JSON dialect, as its `json` module reads and writes it by default:
 * standard JSON plus the bare tokens `NaN`, `Infinity` and `-Infinity` for
 * non-finite floats. `json.dump` writes them (`allow_nan=True`) and `json.load`
 * reads them back; JSON.parse refuses them. Nothing else differs: the same
 * whitespace, numbers, strings, escapes and structure.
 *
 * Decoded, the tokens are the JavaScript numbers NaN, Infinity and -Infinity
 * (the values Python holds). Encoded, `stringifyPythonJson` writes them back
 * as the same tokens; JSON.stringify would turn them into `null`.
 */

export type PythonJsonOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'syntax' | 'too-deep'; readonly message: string };

/**
 * Nesting this parser follows before it gives up (a recursive parser: no stack
 * overflow). Python's own decoder fails long before (its recursion limit, ~1000).
 */
export const MAX_PYTHON_JSON_DEPTH = 512;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;

class Failure extends Error {
  constructor(
    readonly reason: 'syntax' | 'too-deep',
    message: string,
  ) {
    super(message);
  }
}

/** Parses Python-dialect JSON text. Never throws. */
export function parsePythonJson(text: string): PythonJsonOutcome {
  const parser = new Parser(text);
  try {
    const value = parser.document();
    return { ok: true, value };
  } catch (error) {
    if (error instanceof Failure) return { ok: false, reason: error.reason, message: error.message };
    return { ok: false, reason: 'syntax', message: String(error) };
  }
}

class Parser {
  private at = 0;

  constructor(private readonly text: string) {}

  document(): unknown {
    const value = this.value(0);
    this.space();
    if (this.at !== this.text.length) this.fail('extra data');
    return value;
  }

  private value(depth: number): unknown {
    this.space();
    const c = this.text[this.at];
    switch (c) {
      case '{':
        return this.object(depth + 1);
      case '[':
        return this.array(depth + 1);
      case '"':
        return this.string();
      case 'n':
        return this.word('null', null);
      case 't':
        return this.word('true', true);
      case 'f':
        return this.word('false', false);
      case 'N':
        return this.word('NaN', Number.NaN);
      case 'I':
        return this.word('Infinity', Number.POSITIVE_INFINITY);
      case '-':
        if (this.text.startsWith('-Infinity', this.at)) return this.word('-Infinity', Number.NEGATIVE_INFINITY);
        return this.number();
      default:
        return this.number();
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_PYTHON_JSON_DEPTH) throw new Failure('too-deep', `nested deeper than ${MAX_PYTHON_JSON_DEPTH} levels`);
    this.at++; // {
    const result: Record<string, unknown> = {};
    this.space();
    if (this.text[this.at] === '}') {
      this.at++;
      return result;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail('expected a property name in double quotes');
      const key = this.string();
      this.space();
      if (this.text[this.at] !== ':') this.fail("expected ':'");
      this.at++;
      const value = this.value(depth);
      // As JSON.parse: an own data property, whatever the key (`__proto__` included); the last duplicate wins.
      Object.defineProperty(result, key, { value, writable: true, enumerable: true, configurable: true });
      this.space();
      const next = this.text[this.at++];
      if (next === '}') return result;
      if (next !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_PYTHON_JSON_DEPTH) throw new Failure('too-deep', `nested deeper than ${MAX_PYTHON_JSON_DEPTH} levels`);
    this.at++; // [
    const result: unknown[] = [];
    this.space();
    if (this.text[this.at] === ']') {
      this.at++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth));
      this.space();
      const next = this.text[this.at++];
      if (next === ']') return result;
      if (next !== ',') this.fail("expected ',' or ']'");
    }
  }

  /** A string literal: its end found here, its escapes decoded by JSON.parse (which also refuses raw control characters). */
  private string(): string {
    const start = this.at;
    let i = start + 1;
    for (;;) {
      const c = this.text[i];
      if (c === undefined) this.fail('unterminated string');
      if (c === '"') break;
      i += c === '\\' ? 2 : 1;
    }
    this.at = i + 1;
    try {
      return JSON.parse(this.text.slice(start, this.at)) as string;
    } catch {
      return this.fail('invalid string');
    }
  }

  private number(): number {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail('expected a value');
    this.at += match[0].length;
    return Number(match[0]);
  }

  private word<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at)) this.fail('expected a value');
    this.at += word.length;
    return value;
  }

  private space(): void {
    for (;;) {
      const c = this.text[this.at];
      if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') return;
      this.at++;
    }
  }

  private fail(what: string): never {
    throw new Failure('syntax', `${what} at position ${this.at}`);
  }
}

/**
 * What JSON.stringify serializes for `value` at `key`: the result of its
 * `toJSON`, when it has one (a record may carry one to serialize more than its
 * enumerable keys).
 */
function serializedView(value: unknown, key: string): unknown {
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  return value;
}

/** Whether a JSON value holds a non-finite number anywhere, as JSON.stringify would see it (what standard JSON cannot say). */
export function hasNonFinite(value: unknown, depth = 0, key = ''): boolean {
  const view = serializedView(value, key);
  if (typeof view === 'number') return !Number.isFinite(view);
  if (typeof view !== 'object' || view === null || depth > MAX_PYTHON_JSON_DEPTH) return false;
  for (const [k, item] of Object.entries(view)) {
    if (hasNonFinite(item, depth + 1, k)) return true;
  }
  return false;
}

/**
 * Encodes with `encode` (a JSON.stringify-based encoder: the record encoder),
 * writing non-finite numbers as Python's tokens instead of `null`. A value
 * without them is encoded by `encode` alone. Each non-finite number is first
 * swapped for a marker string that occurs nowhere in the plain encoding, and
 * the marker's quoted form is then replaced by the token: nothing else changes.
 */
export function stringifyPythonJson<T>(value: T, encode: (value: T) => string): string {
  if (!hasNonFinite(value)) return encode(value);
  const plain = encode(value);
  let marker = 'nonfinite';
  for (let n = 0; plain.includes(marker); n++) marker = `nonfinite${n}x`;
  const tokens = new Map([
    [`"${marker}:NaN"`, 'NaN'],
    [`"${marker}:Infinity"`, 'Infinity'],
    [`"${marker}:-Infinity"`, '-Infinity'],
  ]);
  const marked = swapNonFinite(value, marker, 0, '') as T;
  return encode(marked).replace(new RegExp(`"${marker}:(?:NaN|-?Infinity)"`, 'g'), (quoted) => tokens.get(quoted) ?? quoted);
}

/** A plain copy of what JSON.stringify would serialize (toJSON applied), non-finite numbers swapped for marker strings. */
function swapNonFinite(value: unknown, marker: string, depth: number, key: string): unknown {
  const view = serializedView(value, key);
  if (typeof view === 'number') return Number.isFinite(view) ? view : `${marker}:${String(view)}`;
  if (typeof view !== 'object' || view === null || depth > MAX_PYTHON_JSON_DEPTH) return view;
  if (Array.isArray(view)) return view.map((item, i) => swapNonFinite(item, marker, depth + 1, String(i)));
  const copy: Record<string, unknown> = {};
  for (const [k, item] of Object.entries(view)) {
    Object.defineProperty(copy, k, { value: swapNonFinite(item, marker, depth + 1, k), writable: true, enumerable: true, configurable: true });
  }
  return copy;
}
