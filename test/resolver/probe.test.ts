import { describe, expect, it } from 'vitest';
import { probeQuestion } from '../../src/resolver/links.js';

describe('probeQuestion', () => {
  it.each([
    ['.', 'NS', [0, 0, 2, 0, 1]],
    ['a.b', 'soa', [1, 0x61, 1, 0x62, 0, 0, 6, 0, 1]],
    ['.', '65', [0, 0, 65, 0, 1]],
  ])('%s %s', (name, type, bytes) => {
    expect([...probeQuestion(name, type)]).toEqual(bytes);
  });

  it('refuses a type it does not know', () => {
    expect(() => probeQuestion('.', 'NOPE')).toThrow('unknown record type NOPE');
  });
});
