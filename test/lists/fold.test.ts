import { domainToASCII, domainToUnicode } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asciiSkeleton, decodePunycode, foldLeet, isInternational, skeleton } from '../../src/lists/fold.js';

describe('decodePunycode', () => {
  it.each([['münchen'], ['bücher'], ['пример'], ['例え'], ['pоrn'], ['αβγ'], ['a-b-ç']])(
    'decodes what domainToASCII encodes: %s',
    (label) => {
      const ascii = domainToASCII(label);
      expect(ascii.startsWith('xn--')).toBe(true);
      expect(decodePunycode(ascii.slice(4))).toBe(domainToUnicode(ascii));
    },
  );

  it.each([
    ['mnchen-3ya', 'münchen'],
    ['e1afmkfd', 'пример'],
  ])('decodes %s to %s', (input, expected) => {
    expect(decodePunycode(input)).toBe(expected);
  });

  it.each([[''], ['abc-!!'], ['zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'], ['ü-abc']])('rejects %j', (input) => {
    expect(decodePunycode(input)).toBeNull();
  });
});

describe('skeleton', () => {
  it.each<[string, string]>([
    ['example.com', 'example.com'],
    [domainToASCII('gооgle.com'), 'google.com'], // Cyrillic о
    [domainToASCII('раураl.com'), 'paypal.com'], // Cyrillic р а у
    ['ｐｏｒｎ.example', 'porn.example'], // fullwidth, NFKC
    ['PÖRN.example', 'porn.example'], // upper case, diaeresis
    ['сasino.example', 'casino.example'], // Cyrillic с, not encoded
    ['αpple.example', 'apple.example'], // Greek alpha
    ['ѕех.example', 'sex.example'], // Cyrillic ѕ е х
    ['straße.example', 'strasse.example'],
    ['xn--invalid-!!.example', 'xn--invalid-!!.example'], // undecodable labels stay as they are
  ])('%s → %s', (name, expected) => {
    expect(skeleton(name)).toBe(expected);
  });

  it('keeps scripts without Latin look-alikes, in punycode for lookups', () => {
    expect(skeleton(domainToASCII('例え.jp'))).toBe('例え.jp');
    expect(asciiSkeleton(domainToASCII('例え.jp'))).toBe(domainToASCII('例え.jp'));
    expect(asciiSkeleton(domainToASCII('gооgle.com'))).toBe('google.com');
  });
});

describe('foldLeet and isInternational', () => {
  it.each([
    ['p0rn', 'porn'],
    ['s3x', 'sex'],
    ['c@$1n0', 'casino'],
    ['5u1c1d3', 'suicide'],
    ['b3771ng', 'betting'],
    ['h4x', 'hax'],
  ])('%s → %s', (text, expected) => expect(foldLeet(text)).toBe(expected));

  it.each<[string, boolean]>([
    ['example.com', false],
    ['4chan.org', false],
    ['xn--mnchen-3ya.de', true],
    ['münchen.de', true],
  ])('%s → %s', (name, expected) => expect(isInternational(name)).toBe(expected));
});
