import { request } from 'node:http';
import { expect } from 'vitest';
import { CLI, Child, waitFor } from './processes.js';

/** `marcus-registry --store STORE serve --port 0 ARGS` and the URL it printed. */
export async function startServe(store: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<{ child: Child; url: string }> {
  const child = new Child(process.execPath, [CLI, '--store', store, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { env: { ...process.env, ...env } });
  const match = await child.line(/^marcus-registry: serving (http:\/\/127\.0\.0\.1:\d+\/)$/m);
  return { child, url: match[1] as string };
}

/** Stops a serve process with `signal` and expects a clean exit 0. */
export async function stopServe(child: Child, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  child.kill(signal);
  const exit = await child.exited;
  expect(exit, `stderr: ${child.stderrText}`).toEqual({ code: 0, signal: null });
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with headers fetch will not send (Host, Origin): node:http, to 127.0.0.1 only. */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const target = new URL(url);
  if (target.hostname !== '127.0.0.1') throw new Error(`tests only talk to 127.0.0.1, not ${target.hostname}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: target.port, path: `${target.pathname}${target.search}`, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface SseMessage {
  readonly event: string;
  readonly id: string | undefined;
  readonly data: string;
}

/** An open /v1/events stream read with fetch; messages and comments are collected as they arrive. */
export class EventStream {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  contentType = '';
  private readonly controller = new AbortController();
  private buffer = '';
  readonly done: Promise<void>;

  private constructor(readonly url: string, headers: Record<string, string>) {
    this.done = this.read(headers);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const stream = new EventStream(url, headers);
    await waitFor(() => stream.status !== 0 || stream.failed !== undefined, { timeoutMs: 20_000, message: () => `no response from ${url}` });
    if (stream.failed !== undefined) throw stream.failed;
    return stream;
  }

  failed: unknown;
  ended = false;

  async next(match: (m: SseMessage) => boolean, what: string, timeoutMs = 30_000): Promise<SseMessage> {
    let found: SseMessage | undefined;
    await waitFor(() => (found = this.messages.find(match)) !== undefined, { timeoutMs, message: () => `${what}; got ${JSON.stringify(this.messages)}` });
    return found as SseMessage;
  }

  close(): void {
    this.controller.abort();
  }

  private async read(headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(this.url, { headers: { accept: 'text/event-stream', ...headers }, signal: this.controller.signal });
      this.contentType = res.headers.get('content-type') ?? '';
      this.status = res.status;
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        this.buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) !== -1) {
          this.parse(this.buffer.slice(0, end));
          this.buffer = this.buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (!this.controller.signal.aborted) this.failed = error;
    } finally {
      this.ended = true;
    }
  }

  private parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') event = value;
      else if (name === 'id') id = value;
      else if (name === 'data') data.push(value);
      else continue;
      fields++;
    }
    if (data.length > 0 && fields > 0) this.messages.push({ event, id, data: data.join('\n') });
  }
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/**
 * Parses the Prometheus text format strictly: every line is blank, a comment
 * (`# HELP name text`, `# TYPE name type`, other `#` lines), or a sample
 * `name{label="value",…} number`. Throws on anything else.
 */
function promValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  return Number(text);
}

export function parsePrometheus(text: string): { samples: Sample[]; help: Map<string, string>; types: Map<string, string> } {
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  const types = new Map<string, string>();
  // Values are read with Go's ParseFloat: NaN and Inf in any case (prom-client writes `Nan`
  // for a gauge with no samples yet, e.g. event-loop lag right after start).
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ((?:[-+]?(?:[0-9.]+(?:e[+-]?\d+)?|inf(?:inity)?)|nan))( -?\d+)?$/i;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const [, name = '', rest = ''] = /^# HELP (\S+) ?(.*)$/.exec(line) ?? [];
      help.set(name, rest);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, name = '', type = ''] = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line) ?? [];
      if (!name) throw new Error(`bad TYPE line: ${line}`);
      types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = sample.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    label.lastIndex = 0;
    while (label.lastIndex < body.length) {
      const l = label.exec(body);
      if (!l) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1] as string, labels, value: promValue(m[4] as string) });
  }
  return { samples, help, types };
}

/**
 * Stops children a test left running: SIGTERM first (a `run` forwards it to
 * its command and unregisters, so no `sleep` outlives the test), SIGKILL after 5 s.
 */
export async function stopChildren(children: Child[]): Promise<void> {
  const running = children.splice(0).filter((c) => c.process.exitCode === null && c.process.signalCode === null);
  await Promise.all(
    running.map(async (child) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await child.exited;
      clearTimeout(timer);
    }),
  );
}
