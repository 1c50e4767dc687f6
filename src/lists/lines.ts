// Line readers for the parsers. Files are read in fixed chunks so a list of
// millions of lines never sits in memory as one string, and a line with no end
// (binary garbage, a wrong file) is cut short rather than buffered whole.
import { closeSync, openSync, readSync } from 'node:fs';
import { MAX_LINE } from './formats/types.js';

const CHUNK = 1 << 20;
const NEWLINE = 0x0a;

/**
 * The lines of a file, without their `\n`. A line longer than MAX_LINE bytes is
 * yielded as its first MAX_LINE + 1 bytes (so parsers report it as too long)
 * and the rest of it is skipped.
 */
export function* readLines(path: string): Generator<string, void, undefined> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer | null = null;
    let skipping = false;
    for (;;) {
      const got = readSync(fd, buf, 0, CHUNK, null);
      if (got === 0) break;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(NEWLINE, start);
        const end = nl >= 0 && nl < got ? nl : -1;
        if (end < 0) {
          // No newline in the rest of this chunk: keep it for the next one, up to the cap.
          if (!skipping && start < got) {
            const piece = buf.subarray(start, got);
            carry = carry ? Buffer.concat([carry, piece]) : Buffer.from(piece);
            if (carry.length > MAX_LINE) {
              yield carry.toString('utf8', 0, MAX_LINE + 1);
              carry = null;
              skipping = true;
            }
          }
          break;
        }
        if (skipping) skipping = false;
        else if (carry) {
          const line = Buffer.concat([carry, buf.subarray(start, end)]);
          carry = null;
          yield line.length > MAX_LINE ? line.toString('utf8', 0, MAX_LINE + 1) : line.toString('utf8');
        } else {
          yield buf.toString('utf8', start, Math.min(end, start + MAX_LINE + 1));
        }
        start = end + 1;
      }
    }
    if (carry && carry.length > 0 && !skipping) yield carry.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The lines of a string (tests and small inputs). */
export function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
