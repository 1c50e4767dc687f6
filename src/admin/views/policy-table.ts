// What each group blocks, and when: a table of categories × groups made from
// the live config, for the Settings page. It is what a governor reviewing the
// filtering policy needs, before the raw YAML: the illegal lists (all groups,
// always), each category's blocking per group (always, at the scheduled times
// in their zone, or not), the keywords, safe search, the exceptions in force,
// and the built-in rows (help services never blocked, the canaries always
// answered).
import type { Config, GroupConfig } from '../../config.js';
import { helpServiceDomains } from '../../resolver/help-services.js';
import { html, type SafeHtml } from '../html.js';

const DAY_ORDER = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_NAMES: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** "Mon–Fri", "Mon, Wed, Fri", "every day": runs of three or more days as a range. */
export function formatDays(days: readonly string[]): string {
  const on = DAY_ORDER.filter((d) => days.includes(d));
  if (on.length === 7) return 'every day';
  const parts: string[] = [];
  for (let i = 0; i < on.length;) {
    let j = i;
    while (j + 1 < on.length && DAY_ORDER.indexOf(on[j + 1]) === DAY_ORDER.indexOf(on[j]) + 1) j++;
    parts.push(
      j - i >= 2
        ? `${DAY_NAMES[on[i]]}–${DAY_NAMES[on[j]]}`
        : on
            .slice(i, j + 1)
            .map((d) => DAY_NAMES[d])
            .join(', '),
    );
    i = j + 1;
  }
  return parts.join(', ');
}

/** When a group blocks a category: "always", the schedule windows, or "" (not blocked). */
export function blockedWhen(group: GroupConfig, category: string): string {
  if (group.block.includes(category)) return 'always';
  return group.schedules
    .filter((s) => s.block.includes(category))
    .map((s) => `${formatDays(s.days)} ${s.times.map((t) => t.replace('-', '–')).join(', ')} (${s.timezone})`)
    .join('; ');
}

function safeSearch(g: GroupConfig): string {
  const s = g.safeSearch;
  const engines = [s.google && 'Google', s.bing && 'Bing', s.duckduckgo && 'DuckDuckGo'].filter(Boolean).join(', ');
  const youtube = s.youtube === 'off' ? '' : `YouTube ${s.youtube}`;
  return [engines, youtube].filter(Boolean).join('; ') || 'off';
}

/** `exceptions`: the ones in force, from the database (allow and deny counts per group). */
export function policyTable(config: Config, exceptions: readonly { action: 'allow' | 'deny'; groups: readonly string[] }[]): SafeHtml {
  const groups = config.groups;
  const span = groups.length;
  const helpCount = helpServiceDomains(config.helpServices).length;
  const exceptionsFor = (g: string) => {
    const mine = exceptions.filter((e) => e.groups.includes(g) || e.groups.includes('*'));
    const allow = mine.filter((e) => e.action === 'allow').length;
    return mine.length === 0 ? 'none' : `${allow} allow, ${mine.length - allow} deny`;
  };
  return html`<table class="responsive policy" id="policy-table">
    <caption>What each group blocks, and when. Times are local to each schedule's zone.</caption>
    <thead><tr><th scope="col">Category</th>${groups.map((g) => html`<th scope="col">${g.name}${g.default ? html` <span class="muted">(default)</span>` : ''}</th>`)}<th scope="col">Keywords</th></tr></thead>
    <tbody>
      ${config.categories.map((c) =>
        c.illegal
          ? html`<tr class="illegal"><th scope="row">${c.name} <span class="badge deny">illegal</span></th>
              <td colspan="${span}" class="blocked">Blocked for all groups, always. No exception or setting can change it.</td>
              <td>${c.keywords.join(', ')}</td></tr>`
          : html`<tr><th scope="row">${c.name}${c.circumvention ? html` <span class="muted">(circumvention)</span>` : ''}</th>
              ${groups.map((g) => {
                const when = blockedWhen(g, c.id);
                return when === ''
                  ? html`<td data-label="${g.name}" class="allowed">not blocked</td>`
                  : html`<td data-label="${g.name}" class="${when === 'always' ? 'blocked' : 'scheduled'}">${when === 'always' ? 'blocked, always' : `blocked ${when}`}</td>`;
              })}
              <td data-label="Keywords">${c.keywords.join(', ')}</td></tr>`,
      )}
      <tr class="builtin"><th scope="row">Help and support services <span class="muted">(built in, ${helpCount} domains)</span></th>
        <td colspan="${span}" class="allowed">Never blocked, for every group: no keyword, category or deny exception applies; only the illegal lists do.</td><td></td></tr>
      <tr class="builtin"><th scope="row">Browser DoH canary / Private Relay <span class="muted">(built in)</span></th>
        <td colspan="${span}" class="blocked">Switched off for all groups, always, so devices keep using this filter.</td><td></td></tr>
      <tr><th scope="row">Safe search</th>${groups.map((g) => html`<td data-label="${g.name}">${safeSearch(g)}</td>`)}<td></td></tr>
      <tr><th scope="row">Exceptions in force <a href="/exceptions">(list)</a></th>${groups.map((g) => html`<td data-label="${g.name}">${exceptionsFor(g.name)}</td>`)}<td></td></tr>
    </tbody></table>`;
}
