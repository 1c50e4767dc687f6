// The error catalogue (src/errors.ts) lists every GH_ERR_* code that src/ uses, and
// nothing else: a new code without a meaning, or a meaning kept for a code that
// is gone, fails here.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../src/errors.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const used = new Set<string>();
for (const file of sources('src')) {
  if (file === join('src', 'errors.ts')) continue;
  for (const m of readFileSync(file, 'utf8').matchAll(/GH_ERR_[A-Z0-9_]+/g)) used.add(m[0]);
}

describe('error catalogue', () => {
  it('lists every code used in src/', () => {
    const missing = [...used].filter((c) => !isErrorCode(c));
    expect(missing, 'add these to src/errors.ts with their meaning').toEqual([]);
  });

  it('keeps no code that nothing uses', () => {
    const unused = Object.keys(ERROR_CODES).filter((c) => !used.has(c));
    expect(unused, 'remove these from src/errors.ts').toEqual([]);
  });

  it('gives every code a meaning of its own', () => {
    const meanings = Object.values(ERROR_CODES);
    for (const m of meanings) expect(m.length).toBeGreaterThan(10);
    expect(new Set(meanings).size).toBe(meanings.length);
  });

  it('knows its own codes and nothing else', () => {
    expect(isErrorCode('GH_ERR_STORE_OPEN')).toBe(true);
    expect(isErrorCode('GH_ERR_NOPE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});
