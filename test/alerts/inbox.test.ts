// The admin UI's inbox: list with filters and paging, acknowledge, close with
// an outcome, and the history of status changes.
import { afterEach, describe, expect, it } from 'vitest';
import { AlertError } from '../../src/alerts/store.js';
import { TestSite, event } from './helpers/setup.js';

let site: TestSite;
afterEach(async () => site?.close());

function seed() {
  site = new TestSite();
  const engine = site.start({});
  const t0 = Date.UTC(2026, 10, 23, 9, 0, 0);
  for (let i = 0; i < 7; i++) engine.observe(event({ at: t0 + i, client: `10.0.0.${i}`, category: i % 2 === 0 ? 'adult' : 'self-harm' }));
  return engine;
}

describe('alert inbox', () => {
  it('lists newest first, with paging and filters', () => {
    const engine = seed();
    const page1 = engine.list({ limit: 3 });
    const page2 = engine.list({ limit: 3, offset: 3 });
    expect(page1.total).toBe(7);
    expect(page1.items.map((a) => a.client)).toEqual(['10.0.0.6', '10.0.0.5', '10.0.0.4']);
    expect(page2.items.map((a) => a.client)).toEqual(['10.0.0.3', '10.0.0.2', '10.0.0.1']);
    const critical = engine.list({ severity: 'critical' });
    expect(critical.total).toBe(3);
    expect(critical.items.every((a) => a.category === 'self-harm')).toBe(true);
  });

  it('acknowledges, then closes with an outcome, keeping the history', () => {
    const engine = seed();
    const id = engine.list().items[0].id;
    const acked = engine.acknowledge(id, 'dsl.smith');
    expect(acked).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'dsl.smith' });
    expect(engine.list({ status: 'open' }).total).toBe(6);
    expect(engine.list({ status: 'acknowledged' }).items.map((a) => a.id)).toEqual([id]);
    const closed = engine.close(id, 'dsl.jones', 'Pupil spoken to; parents informed.');
    expect(closed).toMatchObject({ status: 'closed', closedBy: 'dsl.jones', outcome: 'Pupil spoken to; parents informed.' });
    expect(closed.closedAt).toBeGreaterThan(0);
    const full = engine.get(id)!;
    expect(full.history.map((h) => [h.user, h.fromStatus, h.toStatus, h.note])).toEqual([
      ['dsl.smith', 'open', 'acknowledged', null],
      ['dsl.jones', 'acknowledged', 'closed', 'Pupil spoken to; parents informed.'],
    ]);
  });

  it('closes an open alert directly', () => {
    const engine = seed();
    const id = engine.list().items[1].id;
    expect(engine.close(id, 'dsl', 'False positive: a news site').status).toBe('closed');
    expect(engine.get(id)!.history.map((h) => h.fromStatus)).toEqual(['open']);
  });

  it('refuses changes that make no sense, by error code', () => {
    const engine = seed();
    const id = engine.list().items[0].id;
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return err instanceof AlertError ? err.code : String(err);
      }
      return 'no error';
    };
    expect(code(() => engine.acknowledge(9999, 'dsl'))).toBe('GH_ERR_ALERT_NOT_FOUND');
    expect(code(() => engine.close(id, 'dsl', '  '))).toBe('GH_ERR_ALERT_INPUT');
    expect(code(() => engine.acknowledge(id, ''))).toBe('GH_ERR_ALERT_INPUT');
    engine.close(id, 'dsl', 'done');
    expect(code(() => engine.close(id, 'dsl', 'again'))).toBe('GH_ERR_ALERT_STATE');
    expect(code(() => engine.acknowledge(id, 'dsl'))).toBe('GH_ERR_ALERT_STATE');
    expect(engine.get(id)!.history.length).toBe(1);
  });
});
