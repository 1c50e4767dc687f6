// Reading list files in chunks: lines across chunk edges, overlong lines cut
// short without buffering them, empty files, multi-byte characters at an edge.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_LINE } from '../../src/lists/formats/types.js';
import { readLines } from '../../src/lists/lines.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('readLines', () => {
  it.each([
    ['empty file', '', []],
    ['no final newline', 'a\nb', ['a', 'b']],
    ['final newline', 'a\nb\n', ['a', 'b']],
    ['blank lines kept for numbering', '\n\nc\n', ['', '', 'c']],
    ['CRLF left for the parser to trim', 'a\r\nb\r\n', ['a\r', 'b\r']],
  ])('%s', (_label, content, expected) => {
    expect([...readLines(file(`t${Math.random()}`, content))]).toEqual(expected);
  });

  it('joins lines that straddle the 1 MiB chunk edge, multi-byte characters included', () => {
    const filler = 'f'.repeat((1 << 20) - 3);
    const path = file('edge', `${filler}\nbü\nafter\n`);
    const lines = [...readLines(path)];
    // The filler line is overlong: cut to MAX_LINE + 1 characters.
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE + 1, 2, 5]);
    expect(lines.slice(1)).toEqual(['bü', 'after']);
  });

  it('cuts a 10 MB line without a newline and carries on after it', () => {
    const path = file('huge', Buffer.concat([Buffer.alloc(10 * 1024 * 1024, 0x41), Buffer.from('\nnext.example\n')]));
    const lines = [...readLines(path)];
    expect(lines.length).toBe(2);
    expect(lines[0].length).toBe(MAX_LINE + 1);
    expect(lines[1]).toBe('next.example');
  });

  it('yields one cut line for a huge file with no newline at all', () => {
    const lines = [...readLines(file('nonl', Buffer.alloc(3 * 1024 * 1024, 0x00)))];
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE + 1]);
  });

  it('throws for a missing file (the build reports it and uses the last good copy)', () => {
    expect(() => [...readLines(join(dir, 'missing'))]).toThrow(/ENOENT/);
  });
});
