// One matcher build: parse each list's file and build the arrays. Runs in the
// build worker (build-worker.ts); plain and synchronous so it can also be
// called directly. A list whose new file is unreadable or mostly invalid is
// built from its last good copy instead, so one broken download never empties
// its category.
import { PARSERS, type ListFormat } from './formats/index.js';
import { MatcherBuilder } from './builder.js';
import { readLines } from './lines.js';
import type { MatcherData } from './matcher.js';
import { countEvent, emptyReport, parseFailure, type ParseReport } from './report.js';

export interface BuildListInput {
  id: string;
  category: string;
  /** Index of the category in config.categories. */
  bit: number;
  format: ListFormat;
  /** A new copy to try first (a fresh download, or the source file itself). */
  candidate?: string;
  /** The last good copy, used when the candidate fails or there is none. */
  fallback?: string;
}

export interface BuildListResult {
  id: string;
  /** Which file the list's entries came from. */
  used: 'candidate' | 'fallback' | 'none';
  report: ParseReport;
  /** Why the candidate (or, with no candidate, the fallback) was refused. */
  error?: string;
}

export interface BuildResult {
  data: MatcherData;
  lists: BuildListResult[];
  rawEntries: number;
  buildMs: number;
}

export function buildMatcher(inputs: readonly BuildListInput[]): BuildResult {
  const started = performance.now();
  const builder = new MatcherBuilder(inputs.map((l) => l.bit));
  const lists = inputs.map((input, index): BuildListResult => {
    let error: string | undefined;
    if (input.candidate) {
      const attempt = addFile(builder, index, input.format, input.candidate);
      if (typeof attempt !== 'string') return { id: input.id, used: 'candidate', report: attempt };
      error = attempt;
    }
    if (input.fallback) {
      const attempt = addFile(builder, index, input.format, input.fallback);
      if (typeof attempt !== 'string') return { id: input.id, used: 'fallback', report: attempt, error };
      error ??= attempt;
    }
    return { id: input.id, used: 'none', report: emptyReport(), error: error ?? 'no copy of the list is available' };
  });
  const rawEntries = builder.rawEntries;
  const data = builder.build();
  return { data, lists, rawEntries, buildMs: performance.now() - started };
}

/** Parse one file into the builder; on failure undo its entries and return why. */
function addFile(builder: MatcherBuilder, index: number, format: ListFormat, path: string): ParseReport | string {
  const mark = builder.mark();
  const report = emptyReport();
  try {
    for (const event of PARSERS[format](readLines(path))) {
      countEvent(report, event);
      if (event.type === 'entry') builder.add(index, event.name, event.flags);
    }
  } catch (err) {
    builder.rollback(mark);
    const code = (err as NodeJS.ErrnoException).code;
    return `cannot read the list file${code ? ` (${code})` : ''}`;
  }
  const failure = parseFailure(report);
  if (failure) {
    builder.rollback(mark);
    return failure;
  }
  return report;
}
