// The functions the reader thread serves, and its messages.
import { search } from './search.js';
import { breakdown, minuteSeries, topClients, topDomains } from './rollups.js';
import { linkSwitches, listRefreshes } from './history.js';
import { whoAtClients } from './who.js';
import { personActivity } from './person-activity.js';
import type { MatcherData } from '../lists/matcher.js';

export const readers = {
  search,
  topDomains,
  topClients,
  minuteSeries,
  breakdown,
  linkSwitches,
  listRefreshes,
  whoAtClients,
  personActivity,
};
export type ReaderName = keyof typeof readers;

export interface ReaderRequest {
  id: number;
  fn: ReaderName;
  arg: unknown;
}

export type ReaderReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; code?: string };

/** Not a request: the illegal categories' part of the lists in use (after each swap), or the end. */
export type ReaderControl = { type: 'illegal'; data: MatcherData | null } | { type: 'close' };
