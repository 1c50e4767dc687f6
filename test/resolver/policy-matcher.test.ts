// The policy with the real compact matcher, built through the real parsers.
import { domainToASCII } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MatcherBuilder } from '../../src/lists/builder.js';
import { PARSERS, type ListFormat } from '../../src/lists/formats/index.js';
import { linesOf } from '../../src/lists/lines.js';
import { CompactMatcher } from '../../src/lists/matcher.js';
import { silentLogger } from '../../src/log.js';
import { PolicyHandler } from '../../src/resolver/policy.js';
import { fakeNext, makeQuery, testConfig, type GroupName } from './policy-fixtures.js';

const LISTS: { id: string; category: string; format: ListFormat; text: string }[] = [
  { id: 'iwf', category: 'iwf', format: 'domains', text: 'abuse.example\n' },
  { id: 'adult', category: 'adult', format: 'hosts', text: '0.0.0.0 adult.example\n' },
  { id: 'gambling', category: 'gambling', format: 'adblock', text: '||bets.example^\n@@||ok.bets.example^\n' },
  { id: 'games', category: 'games', format: 'domains', text: 'roblox.com\n' },
];

function realPolicy(): PolicyHandler {
  const config = testConfig();
  const ids = config.categories.map((c) => c.id);
  const meta = LISTS.map((l) => ({ id: l.id, category: l.category, bit: ids.indexOf(l.category) }));
  const builder = new MatcherBuilder(meta.map((m) => m.bit));
  LISTS.forEach((l, i) => {
    for (const e of PARSERS[l.format](linesOf(l.text))) if (e.type === 'entry') builder.add(i, e.name, e.flags);
  });
  const matcher = new CompactMatcher(builder.build(), meta);
  return new PolicyHandler({ config, matcher: () => matcher, logger: silentLogger(), now: () => new Date('2026-01-10T12:00:00Z') });
}

describe('PolicyHandler with the compact matcher', () => {
  const policy = realPolicy();
  it.each<[string, GroupName, string]>([
    ['www.abuse.example', 'staff', 'illegal:iwf'],
    ['adult.example', 'staff', 'category:adult'],
    ['www.bets.example', 'pupils', 'category:gambling'],
    ['ok.bets.example', 'pupils', 'pass'], // the list's own exception
    ['www.bets.example', 'staff', 'pass'],
    ['roblox.com', 'pupils', 'category:games'],
    [domainToASCII('rоblох.com'), 'pupils', 'category:games'], // IDN look-alike
    ['roblox.com', 'staff', 'pass'],
  ])('%s for %s → %s', async (name, group, expected) => {
    const answer = await policy.resolve(makeQuery(name, { group }), fakeNext());
    const d = answer.decision;
    expect(d ? `${d.reason}:${d.category}` : 'pass').toBe(expected);
  });
});
