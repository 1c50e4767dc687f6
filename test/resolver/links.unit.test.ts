// The link manager alone, with scripted upstreams and a clock we move:
// failover, the same query tried on the next link, failback only after a
// clean failbackAfterMs, no flapping. links.integration.test.ts does the same
// against real nsd servers.
import { beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { AllLinksFailedError, LinkManager, probeQuestion } from '../../src/resolver/links.js';
import type { Upstream } from '../../src/resolver/upstream.js';
import { RCODE } from '../../src/resolver/wire.js';
import { baseConfig } from '../helpers/gatehouse.js';

type Behaviour = 'answer' | 'timeout' | 'servfail' | 'refused';

/** An upstream that does what its link is told, and counts what it was asked. */
class ScriptedUpstream implements Upstream {
  behaviour: Behaviour = 'answer';
  queries = 0;
  constructor(readonly url: string) {}
  async query(question: Buffer): Promise<Buffer> {
    this.queries++;
    if (this.behaviour === 'timeout') throw new Error(`${this.url} did not answer`);
    const answer = Buffer.alloc(12 + question.length);
    answer[2] = 0x81;
    answer[3] = 0x80 | (this.behaviour === 'servfail' ? RCODE.SERVFAIL : this.behaviour === 'refused' ? RCODE.REFUSED : 0);
    answer.writeUInt16BE(1, 4);
    question.copy(answer, 12);
    return answer;
  }
  close(): void {}
}

let clock = 0;
let upstreams: Map<string, ScriptedUpstream>;
let links: LinkManager;
const question = probeQuestion('www.school.test', 'A');

function manager(health = ''): LinkManager {
  const config = parseConfig(
    baseConfig(
      [
        { name: 'primary', upstreams: ['udp://127.0.0.1:1001'] },
        { name: 'satellite', upstreams: ['udp://127.0.0.1:1002'] },
      ],
      `health: { failAfter: 2, failbackAfterMs: 10000, probeIntervalMs: 60000${health} }`,
    ),
  );
  return new LinkManager(
    config,
    silentLogger(),
    () => clock,
    (url) => {
      const u = new ScriptedUpstream(url);
      upstreams.set(url.endsWith('1001') ? 'primary' : 'satellite', u);
      return u;
    },
  );
}

const primary = () => upstreams.get('primary')!;
const satellite = () => upstreams.get('satellite')!;
/** One probe round, as the timer runs it, awaited. */
async function probe(): Promise<void> {
  links.probeAll();
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

beforeEach(() => {
  clock = 1_000_000;
  upstreams = new Map();
  links = manager();
});

describe('LinkManager', () => {
  it.each<[Behaviour]>([['timeout'], ['servfail'], ['refused']])(
    'answers from the satellite at once when the primary fails (%s), and switches after failAfter failures',
    async (behaviour) => {
      primary().behaviour = behaviour;
      const first = await links.query(question, false, false);
      expect(first.link).toBe('satellite'); // the same query, tried on the next link
      expect(links.current).toBe('primary'); // one failure is not enough
      await links.query(question, false, false);
      expect(links.current).toBe('satellite');
      expect(links.status().links.map((l) => l.state)).toEqual(['down', 'up']);
      expect(links.status().lastSwitch).toMatchObject({ from: 'primary', to: 'satellite' });
      const queries = primary().queries;
      await links.query(question, false, false);
      expect(primary().queries).toBe(queries); // a down link is not tried by queries
    },
  );

  // [probe results of the primary after it comes back, one per 4 s, whether we are back on it at the end]
  it.each<[string, Behaviour[], boolean]>([
    ['healthy for failbackAfterMs: back on the primary', ['answer', 'answer', 'answer', 'answer'], true],
    ['healthy, but not for long enough: still on the satellite', ['answer', 'answer'], false],
    ['one failure on the way restarts the wait (no flapping)', ['answer', 'answer', 'timeout', 'answer', 'answer'], false],
    ['after the failure, a clean failbackAfterMs again: back', ['answer', 'timeout', 'answer', 'answer', 'answer', 'answer'], true],
  ])('%s', async (_what, results, back) => {
    primary().behaviour = 'timeout';
    await links.query(question, false, false);
    await links.query(question, false, false);
    expect(links.current).toBe('satellite');
    for (const result of results) {
      clock += 4000;
      primary().behaviour = result;
      await probe();
    }
    expect(links.current).toBe(back ? 'primary' : 'satellite');
  });

  it('takes the first link that answers again at once when every link was down', async () => {
    primary().behaviour = 'timeout';
    satellite().behaviour = 'timeout';
    for (let i = 0; i < 2; i++) await expect(links.query(question, false, false)).rejects.toBeInstanceOf(AllLinksFailedError);
    expect(links.status().allDown).toBe(true);
    satellite().behaviour = 'answer';
    await probe();
    expect(links.current).toBe('satellite');
    expect((await links.query(question, false, false)).link).toBe('satellite');
  });

  it("hands the last upstream's own SERVFAIL or REFUSED to the forward link", async () => {
    primary().behaviour = 'servfail';
    satellite().behaviour = 'refused';
    const err = await links.query(question, false, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllLinksFailedError);
    const failed = err as AllLinksFailedError;
    expect(failed.code).toBe('GH_ERR_ALL_LINKS_FAILED');
    expect(failed.lastAnswer![3] & 0x0f).toBe(RCODE.REFUSED);
    expect(failed.link).toBe('satellite');
  });
});
