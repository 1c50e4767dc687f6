// The forward link alone, over a stub link manager: it owns its failure, as
// CoreDNS's forward plugin does (ErrNoHealthy → SERVFAIL).
import dnsPacket from 'dns-packet';
import { decodeReply } from '../helpers/client.js';
import { describe, expect, it } from 'vitest';
import { ForwardHandler } from '../../src/resolver/forward.js';
import { AllLinksFailedError } from '../../src/resolver/links.js';
import { EDE, RCODE, finishResponse } from '../../src/resolver/wire.js';
import { labels, responseTo, wireQuery } from './wire-fixtures.js';

/** A forward link over a stub link manager that resolves or rejects with `result()`, recording the questions. */
function forward(result: () => Promise<{ wire: Buffer; link: string; linkIndex: number }>, seen: Buffer[] = []): ForwardHandler {
  const links = {
    query: (question: Buffer) => {
      seen.push(question);
      return result();
    },
  };
  return new ForwardHandler(links, () => 1232);
}

describe('ForwardHandler', () => {
  it("asks the links with the client's question bytes and returns what they answer", async () => {
    const q = wireQuery({ labels: ['WwW', 'School', 'TEST'], dnssecOk: true });
    const seen: Buffer[] = [];
    const wire = responseTo(q, { answers: [{ type: 'A', name: 'www.school.test', data: '192.0.2.1' }] });
    const answer = await forward(async () => ({ wire, link: 'satellite', linkIndex: 1 }), seen).resolve(q);
    expect(seen).toEqual([q.wire.subarray(12, q.questionEnd)]);
    expect(answer).toMatchObject({ wire, rcode: 0, source: 'upstream', link: 'satellite' });
  });

  it.each<[boolean, number[]]>([
    [true, [EDE.NO_REACHABLE_AUTHORITY]],
    [false, []],
  ])('no link answered (client EDNS: %s): our SERVFAIL, with EDE 22 when it can carry one (RFC 8914)', async (edns, edes) => {
    const q = wireQuery({ labels: labels('www.school.test'), edns, id: 77 });
    const answer = await forward(() => Promise.reject(new AllLinksFailedError('every link failed: timeout'))).resolve(q);
    expect(answer.source).toBe('error');
    // Also on the Answer, for the cache to give clients in flight their own copies.
    expect(answer.ede).toEqual({ code: EDE.NO_REACHABLE_AUTHORITY, text: 'no internet link answered' });
    finishResponse(answer.wire, q);
    const reply = decodeReply(answer.wire);
    expect(reply).toMatchObject({ id: 77, rcode: 'SERVFAIL', questions: [{ name: 'www.school.test', type: 'A' }] });
    const opt = reply.additionals?.find((r) => r.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    expect(opt !== undefined).toBe(edns);
    expect((opt?.options ?? []).map((o) => o.data!.readUInt16BE(0))).toEqual(edes);
  });

  it("passes the last upstream's own SERVFAIL or REFUSED on", async () => {
    const q = wireQuery({ labels: labels('www.school.test') });
    const refused = responseTo(q, { rcode: RCODE.REFUSED });
    const answer = await forward(() => Promise.reject(new AllLinksFailedError('every link failed', refused, 'satellite'))).resolve(q);
    expect(answer).toMatchObject({ wire: refused, rcode: RCODE.REFUSED, source: 'upstream', link: 'satellite' });
  });

  it('lets any other error through to the server', async () => {
    const q = wireQuery({ labels: labels('www.school.test') });
    await expect(forward(() => Promise.reject(new TypeError('a bug'))).resolve(q)).rejects.toThrow('a bug');
  });
});
