import { describe, expect, it } from 'vitest';
import { Schedules } from '../../src/resolver/schedules.js';
import { decide, makePolicy } from './policy-fixtures.js';

// Pupils: social blocked mon-fri 08:30-12:00 and 13:00-15:30, Europe/London.
// Guests block social at all times; staff never.
describe('PolicyHandler: schedules follow the injected clock', () => {
  it.each<[string, string, string]>([
    // Winter (GMT = UTC): Monday 12 January 2026
    ['2026-01-12T08:29:59Z', 'before the morning window', 'pass'],
    ['2026-01-12T08:30:00Z', 'morning window opens', 'schedule:social'],
    ['2026-01-12T11:59:00Z', 'last minute of the morning', 'schedule:social'],
    ['2026-01-12T12:00:00Z', 'lunch', 'pass'],
    ['2026-01-12T13:00:00Z', 'afternoon window', 'schedule:social'],
    ['2026-01-12T15:30:00Z', 'after school', 'pass'],
    ['2026-01-10T10:00:00Z', 'Saturday', 'pass'],
    ['2026-01-11T10:00:00Z', 'Sunday', 'pass'],
    // Summer (BST = UTC+1): Monday 15 June 2026
    ['2026-06-15T07:29:00Z', '08:29 BST', 'pass'],
    ['2026-06-15T07:30:00Z', '08:30 BST', 'schedule:social'],
    ['2026-06-15T10:59:00Z', '11:59 BST', 'schedule:social'],
    ['2026-06-15T11:00:00Z', '12:00 BST', 'pass'],
    ['2026-06-15T14:29:00Z', '15:29 BST', 'schedule:social'],
    // The Monday after clocks go forward (Sunday 29 March 2026, 01:00 UTC)
    ['2026-03-30T07:45:00Z', '08:45 BST, first school day of summer time', 'schedule:social'],
    ['2026-03-27T07:45:00Z', '07:45 GMT, the Friday before', 'pass'],
    // The Friday before clocks go back (Sunday 25 October 2026), and the Monday after
    ['2026-10-23T14:45:00Z', '15:45 BST', 'pass'],
    ['2026-10-26T14:45:00Z', '14:45 GMT', 'schedule:social'],
  ])('%s (%s) → %s', async (at, _label, expected) => {
    const { policy } = makePolicy({ now: at });
    expect(await decide(policy, 'www.social.example', { group: 'pupils' })).toBe(expected);
    expect(await decide(policy, 'www.social.example', { group: 'staff' })).toBe('pass');
    expect(await decide(policy, 'www.social.example', { group: 'guests' })).toBe('category:social');
  });

  it('blocks and unblocks as one handler clock moves, backwards too', async () => {
    const { policy, clock } = makePolicy({ now: '2026-01-12T08:00:00Z' });
    const steps: [string, string][] = [
      ['2026-01-12T08:00:00Z', 'pass'],
      ['2026-01-12T08:30:00Z', 'schedule:social'],
      ['2026-01-12T08:30:30Z', 'schedule:social'],
      ['2026-01-12T12:00:00Z', 'pass'],
      ['2026-01-12T13:15:00Z', 'schedule:social'],
      ['2026-01-12T08:29:00Z', 'pass'],
      ['2026-01-12T13:15:10Z', 'schedule:social'],
    ];
    for (const [at, expected] of steps) {
      clock.now = new Date(at);
      expect([at, await decide(policy, 'social.example')]).toEqual([at, expected]);
    }
  });

  it('applies keyword rules of a scheduled category only while its window is open', async () => {
    const { policy, clock, config } = makePolicy({ now: '2026-01-12T09:00:00Z' });
    const yaml = config.categories.find((c) => c.id === 'social');
    expect(yaml).toBeDefined();
    yaml!.keywords = ['chatroom'];
    policy.configure(config);
    expect(await decide(policy, 'chatroom.example')).toBe('keyword:social');
    clock.now = new Date('2026-01-12T12:30:00Z');
    expect(await decide(policy, 'chatroom.example')).toBe('pass');
  });
});

describe('Schedules', () => {
  const maskOf = (ids: readonly string[]) => ids.reduce((m, id) => m | (id === 'a' ? 1 : 2), 0);

  it.each<[string, string, number]>([
    ['2026-01-16T21:59:00Z', 'Friday 21:59', 0],
    ['2026-01-16T22:00:00Z', 'Friday 22:00', 1],
    ['2026-01-17T05:59:00Z', 'Saturday 05:59, the night after Friday', 1],
    ['2026-01-17T06:00:00Z', 'Saturday 06:00', 0],
    ['2026-01-17T22:30:00Z', 'Saturday 22:30: not a listed day', 0],
    ['2026-01-12T03:00:00Z', 'Monday 03:00: Sunday night is not listed', 0],
  ])('a window past midnight: %s (%s) → %i', (at, _label, expected) => {
    const s = new Schedules([{ block: ['a'], days: ['fri'], times: ['22:00-06:00'], timezone: 'Europe/London' }], maskOf);
    expect(s.active(Date.parse(at))).toBe(expected);
  });

  it('evaluates each window in its own time zone', () => {
    const s = new Schedules(
      [
        { block: ['a'], days: ['mon'], times: ['09:00-10:00'], timezone: 'Europe/London' },
        { block: ['b'], days: ['mon'], times: ['09:00-10:00'], timezone: 'America/New_York' },
      ],
      maskOf,
    );
    expect(s.mask).toBe(3);
    expect(s.active(Date.parse('2026-01-12T09:30:00Z'))).toBe(1);
    expect(s.active(Date.parse('2026-01-12T14:30:00Z'))).toBe(2); // 09:30 EST
    expect(s.active(Date.parse('2026-01-12T12:00:00Z'))).toBe(0);
  });

  it('runs a window to the end of the day with 24:00', () => {
    const s = new Schedules([{ block: ['a'], days: ['mon'], times: ['20:00-24:00'], timezone: 'UTC' }], maskOf);
    expect(s.active(Date.parse('2026-01-12T23:59:00Z'))).toBe(1);
    expect(s.active(Date.parse('2026-01-13T00:00:00Z'))).toBe(0);
  });

  it.each([['25:00-26:00'], ['08:60-09:00'], ['24:00-01:00']])('rejects %s', (times) => {
    expect(() => new Schedules([{ block: ['a'], days: ['mon'], times: [times], timezone: 'UTC' }], maskOf)).toThrow(/schedule time/);
  });
});
