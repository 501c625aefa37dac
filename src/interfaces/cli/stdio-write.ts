import { writeSync } from 'node:fs';

/**
 * Writes a read command's output to stdout or stderr with write(2) on the
 * file descriptor, not through process.stdout/stderr: creating those streams
 * loads Node's stream modules (~3 ms of a `list` that takes ~25 ms beyond
 * Node's own start; issue 17). Output order is unchanged (stdout and stderr
 * are synchronous on files and pipes in Node on POSIX as well). A reader that
 * has gone (`| head`: EPIPE) ends the output quietly; a descriptor that
 * would block (EAGAIN: a non-blocking pipe shared with another process) hands
 * the rest to the stream, which waits for it.
 */
export function writeOut(text: string): void {
  writeTo(1, text);
}

export function writeErr(text: string): void {
  writeTo(2, text);
}

const streamed = new Set<number>();

function writeTo(fd: 1 | 2, text: string): void {
  if (text === '') return;
  // Only touched when needed: process.stdout is a getter that creates the stream.
  const stream = (): NodeJS.WriteStream => (fd === 1 ? process.stdout : process.stderr);
  if (streamed.has(fd)) {
    stream().write(text);
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') return;
    if (code !== 'EAGAIN') throw error;
    streamed.add(fd);
    stream().write(bytes.subarray(offset));
  }
}
