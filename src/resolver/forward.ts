// The last link of the chain: send the question out over the internet links.
import type { Answer, Handler, Query } from './types.js';
import type { LinkManager } from './links.js';

export class ForwardHandler implements Handler {
  constructor(private readonly links: LinkManager) {}

  async resolve(q: Query): Promise<Answer> {
    // The client's question bytes as they are: the upstream's answer must echo them.
    const question = q.wire.subarray(12, q.questionEnd);
    const { wire, link } = await this.links.query(question, q.dnssecOk, q.checkingDisabled);
    return { wire, rcode: wire[3] & 0x0f, source: 'upstream', link };
  }
}
