import dnsPacket from 'dns-packet';
import { describe, expect, it, vi } from 'vitest';
import type { Answer, Query } from '../../src/resolver/types.js';
import { finishResponse } from '../../src/resolver/wire.js';
import { fakeNext, makePolicy, makeQuery, upstreamAnswer, type GroupName } from './policy-fixtures.js';

/** A next that "resolves" the safe hosts to fixed addresses and records what it was asked. */
function safeHostNext() {
  return vi.fn(async (q: Query): Promise<Answer> => upstreamAnswer(q, undefined, '216.239.38.120'));
}

describe('PolicyHandler: safe search', () => {
  it.each<[GroupName, string, string | null]>([
    ['pupils', 'www.google.com', 'forcesafesearch.google.com'],
    ['pupils', 'google.com', 'forcesafesearch.google.com'],
    ['pupils', 'www.google.co.uk', 'forcesafesearch.google.com'],
    ['pupils', 'www.google.com.au', 'forcesafesearch.google.com'],
    ['pupils', 'google.de', 'forcesafesearch.google.com'],
    ['pupils', 'mail.google.com', null],
    ['pupils', 'www.google.example.com', null],
    ['pupils', 'www.bing.com', 'strict.bing.com'],
    ['pupils', 'duckduckgo.com', 'safe.duckduckgo.com'],
    ['pupils', 'www.duckduckgo.com', 'safe.duckduckgo.com'],
    ['pupils', 'start.duckduckgo.com', 'safe.duckduckgo.com'],
    ['pupils', 'www.youtube.com', 'restrict.youtube.com'],
    ['pupils', 'm.youtube.com', 'restrict.youtube.com'],
    ['pupils', 'youtubei.googleapis.com', 'restrict.youtube.com'],
    ['pupils', 'youtube.googleapis.com', 'restrict.youtube.com'],
    ['pupils', 'www.youtube-nocookie.com', 'restrict.youtube.com'],
    ['pupils', 'youtube.com', null],
    ['staff', 'www.youtube.com', 'restrictmoderate.youtube.com'],
    ['staff', 'www.google.com', 'forcesafesearch.google.com'],
    ['staff', 'www.bing.com', null],
    ['staff', 'duckduckgo.com', null],
    ['guests', 'www.google.com', null],
  ])('%s: %s → %s', async (group, name, host) => {
    const { policy } = makePolicy();
    const next = safeHostNext();
    const q = makeQuery(name, { group, wireName: name.toUpperCase() });
    const answer = await policy.resolve(q, next);
    expect(next).toHaveBeenCalledTimes(1);
    const asked = next.mock.calls[0][0];
    if (host === null) {
      expect(asked).toBe(q);
      expect(answer.decision).toBeUndefined();
      return;
    }
    // The policy asked the rest of the chain for the safe host, with a well-formed query.
    expect(asked.name).toBe(host);
    const sent = dnsPacket.decode(asked.wire);
    expect(sent.questions).toEqual([{ name: host, type: 'A', class: 'IN' }]);
    expect(asked.wire.length).toBeGreaterThan(asked.questionEnd); // our OPT record
    expect(answer.decision).toEqual({ action: 'rewrite', reason: 'safe-search' });
    finishResponse(answer.wire, q); // as the server does before it sends
    const packet = dnsPacket.decode(answer.wire);
    expect(packet.id).toBe(q.id);
    expect(packet.questions).toEqual([{ name: name.toUpperCase(), type: 'A', class: 'IN' }]);
    expect(packet.answers).toEqual([
      expect.objectContaining({ type: 'CNAME', name: name.toUpperCase(), data: host, ttl: 60 }),
      expect.objectContaining({ type: 'A', name: host, data: '216.239.38.120' }),
    ]);
  });

  it('keeps the whole chain the safe host resolves through', async () => {
    const { policy } = makePolicy();
    const next = vi.fn((q: Query) => upstreamAnswer(q, ['edge.example.net'], '203.0.113.7'));
    const answer = await policy.resolve(makeQuery('www.bing.com'), next);
    const packet = dnsPacket.decode(answer.wire);
    expect(packet.answers?.map((a) => [a.type, a.name, (a as dnsPacket.StringAnswer).data])).toEqual([
      ['CNAME', 'www.bing.com', 'strict.bing.com'],
      ['CNAME', 'strict.bing.com', 'edge.example.net'],
      ['A', 'edge.example.net', '203.0.113.7'],
    ]);
  });

  it('answers AAAA queries with the safe host of the same type', async () => {
    const { policy } = makePolicy();
    const next = fakeNext();
    await policy.resolve(makeQuery('www.google.com', { type: 'AAAA' }), next);
    expect(next.mock.calls[0][0].type).toBe(28);
    expect(dnsPacket.decode(next.mock.calls[0][0].wire).questions?.[0]).toMatchObject({ name: 'forcesafesearch.google.com', type: 'AAAA' });
  });

  it('answers a CNAME query with the CNAME alone, asking nothing', async () => {
    const { policy } = makePolicy();
    const next = fakeNext();
    const answer = await policy.resolve(makeQuery('www.youtube.com', { type: 'CNAME' }), next);
    expect(next).not.toHaveBeenCalled();
    expect(dnsPacket.decode(answer.wire).answers).toEqual([expect.objectContaining({ type: 'CNAME', data: 'restrict.youtube.com' })]);
  });

  it('answers SERVFAIL, never the unsafe address, when the safe host answer is unreadable', async () => {
    const { policy } = makePolicy();
    const answer = await policy.resolve(makeQuery('www.google.com'), () => ({
      wire: Buffer.from([1, 2, 3]),
      rcode: 0,
      source: 'upstream',
    }));
    expect(answer.rcode).toBe(2);
    expect(dnsPacket.decode(answer.wire).answers?.map((a) => a.type)).toEqual(['CNAME']);
  });

  it('blocks a search engine listed in a blocked category before safe search applies', async () => {
    const { policy } = makePolicy({ listed: { 'duckduckgo.com': ['games'] } });
    const answer = await policy.resolve(makeQuery('duckduckgo.com', { group: 'pupils' }), fakeNext());
    expect(answer.decision).toMatchObject({ reason: 'category', category: 'games' });
  });
});
