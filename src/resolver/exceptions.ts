// Allow and deny exceptions: a domain (and its subdomains) allowed or denied
// for some groups. The admin UI keeps them in SQLite and hands the whole list
// to the policy, which compiles one suffix map per group and swaps it in.
// Domains are read with the one normaliser the admin UI validates with
// (lists/names.ts normaliseDomain).
import { normaliseDomain } from '../lists/names.js';
import { SuffixMap } from './suffix-map.js';

export interface Exception {
  domain: string;
  action: 'allow' | 'deny';
  /** Group names; "*" means every group. */
  groups: string[];
  id?: number;
}

export const EXCEPTION_DENY = 1;
export const EXCEPTION_ALLOW = 2;

export interface CompiledExceptions {
  /** Per group name; groups without exceptions are absent. */
  byGroup: Map<string, SuffixMap>;
  /** Exceptions that were left out, and why. */
  skipped: { exception: Exception; problem: string }[];
}

export function compileExceptions(list: readonly Exception[], groupNames: readonly string[]): CompiledExceptions {
  const byGroup = new Map<string, SuffixMap>();
  const skipped: CompiledExceptions['skipped'] = [];
  const known = new Set(groupNames);
  for (const exception of list) {
    const domain = normaliseDomain(exception.domain);
    if (domain === null) {
      skipped.push({ exception, problem: 'not a domain name' });
      continue;
    }
    const groups = exception.groups.includes('*') ? groupNames : exception.groups.filter((g) => known.has(g));
    if (groups.length === 0) {
      skipped.push({ exception, problem: 'names no group in the config' });
      continue;
    }
    const flag = exception.action === 'deny' ? EXCEPTION_DENY : EXCEPTION_ALLOW;
    for (const g of groups) {
      let map = byGroup.get(g);
      if (!map) byGroup.set(g, (map = new SuffixMap()));
      map.add(domain, flag);
    }
  }
  return { byGroup, skipped };
}
