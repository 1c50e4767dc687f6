// The last link of the chain: send the question out over the internet links.
// It owns its failure, as CoreDNS's forward plugin does: when no link gives a
// usable answer, the client gets the last upstream's own SERVFAIL or REFUSED,
// or else our SERVFAIL with EDE 22 "No Reachable Authority" (RFC 8914).
import type { Answer, Handler, Query } from './types.js';
import { AllLinksFailedError, type LinkManager } from './links.js';
import { EDE, RCODE, errorResponse, type Ede } from './wire.js';

const NO_LINK: Ede = { code: EDE.NO_REACHABLE_AUTHORITY, text: 'no internet link answered' };

export class ForwardHandler implements Handler {
  /** `udpSize`: what our OPT record advertises (dns.udpSize), read per query so a reload applies. */
  constructor(
    private readonly links: Pick<LinkManager, 'query'>,
    private readonly udpSize: () => number,
  ) {}

  async resolve(q: Query): Promise<Answer> {
    // The client's question bytes as they are: the upstream's answer must echo them.
    const question = q.wire.subarray(12, q.questionEnd);
    try {
      const { wire, link } = await this.links.query(question, q.dnssecOk, q.checkingDisabled);
      return { wire, rcode: wire[3] & 0x0f, source: 'upstream', link };
    } catch (err) {
      if (!(err instanceof AllLinksFailedError)) throw err;
      const last = err.lastAnswer;
      if (last !== undefined) return { wire: last, rcode: last[3] & 0x0f, source: 'upstream', link: err.link };
      const wire = errorResponse(q.wire, RCODE.SERVFAIL, {
        questionEnd: q.questionEnd,
        edns: q.edns,
        udpSize: this.udpSize(),
        dnssecOk: q.dnssecOk,
        ede: NO_LINK,
      });
      return { wire, rcode: RCODE.SERVFAIL, source: 'error', ede: NO_LINK };
    }
  }
}
