import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KeywordMatcher } from '../../src/lists/keywords.js';

// Bits: 0 adult, 1 self-harm, 2 violence, 3 gambling.
const ADULT = 1;
const SELF_HARM = 2;
const VIOLENCE = 4;
const GAMBLING = 8;
const matcher = new KeywordMatcher([
  ['sex', 'porn*', 'xxx', 'cock', 'hentai'],
  ['suicide', 'selfharm'],
  ['rape'],
  ['casino', 'betting', '*bet'],
]);

describe('KeywordMatcher: the false-positive corpus is never matched', () => {
  it.each([
    ['essex.ac.uk'],
    ['scunthorpe.gov.uk'],
    ['sussex.police.uk'],
    ['middlesex.ac.uk'],
    ['therapist.example'],
    ['cocktail-recipes.example'],
    ['peacock.example'],
    ['hancock.example'],
    ['sextant.example'],
    ['grape.example'],
    ['drapery.example'],
    ['expertsexchange.example'],
    ['sporno.example'],
    ['betterment.example'],
    ['b2b4sale.example'],
    ['3com.com'],
    ['1und1.de'],
    [domainToASCII('münchen.de')],
    ['www.bbc.co.uk'],
    // Compounds of innocent words that hold a keyword's letters: the compound reading must not open them up.
    ['cheapornaments.example'], // cheap + ornaments
    ['shopornaments.example'],
    ['rapeseed-oil.example'], // rape + seed: "seed" is not a glue word
    ['mycocktail.example'], // my + cock + tail
    ['bigcockatoo.example'],
    ['abetting.example'], // "a" is not a glue word
    ['essexlive.co.uk'], // a local news site: essex + live
    ['sussexchat.example'],
    ['freesextant.example'], // free + sextant, not free + sex
    ['topsexton.example'],
    ['freeporter.example'],
  ])('%s', (name) => {
    expect(matcher.match(name)).toBe(0);
  });
});

describe('KeywordMatcher: disguised names are matched', () => {
  it.each<[string, number]>([
    ['sex.example', ADULT],
    ['free-sex.example', ADULT],
    ['free-p0rn.example', ADULT],
    ['porn4free.example', ADULT],
    ['pornhub.example', ADULT], // "porn*": tokens that begin with porn
    ['p0rnhub.example', ADULT],
    ['s3x-chat.example', ADULT],
    ['hot.xxx', ADULT],
    ['hot_xxx_videos.example', ADULT],
    [domainToASCII('pоrn-videos.example'), ADULT], // Cyrillic о
    [domainToASCII('ｐｏｒｎ.example'), ADULT], // fullwidth (IDNA maps it already)
    ['ｐｏｒｎ.example', ADULT], // fullwidth, not encoded
    [domainToASCII('pörn.example'), ADULT],
    [domainToASCII('ѕех.example'), ADULT], // all Cyrillic
    ['сasino-online.example', GAMBLING], // Cyrillic с, not encoded
    [domainToASCII('сasino-online.example'), GAMBLING],
    ['c4sino.example', GAMBLING],
    ['sportsbet.example', GAMBLING], // "*bet": tokens that end in bet
    ['alphabet.example', GAMBLING], // which is why a star is only for words that do not hide in others
    ['suicide-forum.example', SELF_HARM],
    ['5u1c1d3.example', SELF_HARM],
    ['rape.example', VIOLENCE],
    ['sex-and-betting.example', ADULT | GAMBLING],
  ])('%s → %i', (name, expected) => {
    expect(matcher.match(name)).toBe(expected);
  });
});

// Names spam and adult sites use that whole-word matching alone missed: the
// keyword glued to a common word (free + porn, sex + cam), or both.
describe('KeywordMatcher: the corpus of misses is matched', () => {
  it.each<[string, number]>([
    ['freeporn-videos.example', ADULT],
    ['freepornvideos.example', ADULT],
    ['my-freeporn.example', ADULT],
    ['hotfreeporn.example', ADULT], // two glue words
    ['teenporn.example', ADULT],
    ['realp0rn.example', ADULT], // leetspeak in a compound
    ['fr33p0rn.example', ADULT],
    [domainToASCII('frееporn.example'), ADULT], // Cyrillic е
    ['hotsex.example', ADULT],
    ['sexcam.example', ADULT],
    ['sexcams.example', ADULT],
    ['live-sexchat.example', ADULT],
    ['freesexchat.example', ADULT], // prefix and suffix
    ['bigcock.example', ADULT],
    ['xxxvideos.example', ADULT],
    ['hentaihub.example', ADULT],
    ['suicidechat.example', SELF_HARM],
    ['onlinecasino.example', GAMBLING],
    ['livecasino.example', GAMBLING],
    ['casinoonline.example', GAMBLING],
    ['bestbetting.example', GAMBLING],
    ['freebet.example', GAMBLING],
  ])('%s → %i', (name, expected) => {
    expect(matcher.match(name)).toBe(expected);
  });
});

describe('KeywordMatcher: construction', () => {
  it('reports which categories have keywords', () => {
    expect(matcher.mask).toBe(ADULT | SELF_HARM | VIOLENCE | GAMBLING);
    expect(new KeywordMatcher([[], ['x1x']]).mask).toBe(2);
    expect(new KeywordMatcher([]).match('sex.example')).toBe(0);
  });

  it('folds keywords the way it folds names', () => {
    const folded = new KeywordMatcher([['CASINO'], ['p0rn']]);
    expect(folded.match('casino.example')).toBe(1);
    expect(folded.match('porn.example')).toBe(2);
  });

  it.each([['self-harm'], ['two words'], ['a.b']])('rejects %j, which is not one word', (keyword) => {
    expect(() => new KeywordMatcher([[keyword]])).toThrow(/one word/);
  });
});
