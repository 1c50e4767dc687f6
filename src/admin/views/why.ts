// Why the query log's row was decided as it was, in words: which list, which
// keyword, which exception, which schedule window. The row records the
// policy's reason and the list (store/search.ts LogRow); the keyword, the
// exception and the window are found again from the config and the
// exceptions table, as they are now (a row from before a change says so).
// Also the result column, which never reads as a plain NOERROR for a block.
import type { Config } from '../../config.js';
import { KeywordMatcher } from '../../lists/keywords.js';
import { rcodeName } from '../../resolver/wire-names.js';
import type { LogRow } from '../../store/search.js';
import type { ExceptionRow } from '../exceptions.js';
import { categoryName, isIllegalCategory } from './widgets.js';

/** The result column: a blocked or rewritten answer never reads as a plain NOERROR. */
export function resultText(r: Pick<LogRow, 'action' | 'rcode'>): string {
  const code = rcodeName(r.rcode);
  if (r.action === 'block') return r.rcode === 0 ? 'blocked: block answer (NOERROR)' : `blocked: ${code}`;
  if (r.action === 'rewrite') return `rewritten: ${code}`;
  return code;
}

const FIXED: Record<string, string> = {
  canary: 'Firefox DNS-over-HTTPS canary (answered for every group)',
  'private-relay': 'iCloud Private Relay',
  ddr: 'encrypted resolver discovery (resolver.arpa)',
  'safe-search': 'safe search for this group',
  'help-service': 'a help and support service (never blocked but by the illegal lists)',
};

/** Explains rows for one page: builds what it needs from the config and the exceptions once. */
export class RowExplainer {
  private readonly keywordMatchers = new Map<string, { word: string; matcher: KeywordMatcher }[]>();

  constructor(
    private readonly config: Config,
    private readonly exceptions: readonly ExceptionRow[],
  ) {}

  /** The reason in words, or '' when the row has none (an allowed name, or a row logged before reasons were). */
  why(r: LogRow): string {
    const category = r.category ? categoryName(this.config, r.category) : '';
    const list = r.list ? `list ${r.list}` : `a ${category} list`;
    switch (r.reason) {
      case 'illegal':
        return `${list} (illegal content: blocked for everyone, no exception)`;
      case 'category':
        return `${list}: ${category} is blocked for ${r.group ?? 'this group'}`;
      case 'schedule':
        return `${list}, during a schedule window${this.window(r)}`;
      case 'cname':
        return `its CNAME points to a name on ${list}`;
      case 'keyword':
        return `keyword rule${this.keyword(r)} of ${category}`;
      case 'deny-exception':
      case 'allow-exception':
        return this.exception(r, r.reason === 'deny-exception' ? 'deny' : 'allow');
      default:
        return r.reason ? (FIXED[r.reason] ?? r.reason) : '';
    }
  }

  /** Whether an admin may be offered "Allow for this group…" for the row (never for illegal content). */
  canAllow(r: LogRow): boolean {
    return r.action === 'block' && r.group !== null && r.reason !== 'illegal' && !isIllegalCategory(this.config, r.category);
  }

  private window(r: LogRow): string {
    const group = this.config.groups.find((g) => g.name === r.group);
    const windows = (group?.schedules ?? []).filter((s) => r.category && s.block.includes(r.category));
    if (windows.length === 0) return ' (no such window in the current config)';
    return ` (${windows.map((s) => `${s.days.join(',')} ${s.times.join(', ')} ${s.timezone}`).join('; ')})`;
  }

  private keyword(r: LogRow): string {
    const words = this.keywordsOf(r.category);
    const hit = words.find((w) => w.matcher.match(r.name) !== 0);
    return hit ? ` "${hit.word}"` : '';
  }

  private keywordsOf(category: string | null): { word: string; matcher: KeywordMatcher }[] {
    if (!category) return [];
    let list = this.keywordMatchers.get(category);
    if (!list) {
      const words = this.config.categories.find((c) => c.id === category)?.keywords ?? [];
      list = words.map((word) => ({ word, matcher: new KeywordMatcher([[word]]) }));
      this.keywordMatchers.set(category, list);
    }
    return list;
  }

  private exception(r: LogRow, action: 'allow' | 'deny'): string {
    const covering = this.exceptions.filter(
      (e) =>
        e.action === action &&
        (r.name === e.domain || r.name.endsWith(`.${e.domain}`)) &&
        (e.groups.includes('*') || (r.group !== null && e.groups.includes(r.group))),
    );
    if (covering.length === 0) return `${action} exception (no longer in force)`;
    return `${action} exception ${covering.map((e) => `#${e.id} (${e.domain})`).join(', ')}`;
  }
}
