// What a list parser yields, one event per line that means something. Parsers
// never throw on bad input: a bad line is an event with its line number, and
// parsing carries on (Blocky's resumable parser errors). Reasons are fixed
// strings and never quote the line, so illegal lists cannot leak through them.

/** The entry blocks the name itself. */
export const BLOCK_APEX = 1;
/** The entry blocks every name below it (not the name itself). */
export const BLOCK_SUB = 2;
/** The entry excepts the name itself from its list's category. */
export const EXCEPT_APEX = 4;
/** The entry excepts every name below it from its list's category. */
export const EXCEPT_SUB = 8;
export const BLOCK_TREE = BLOCK_APEX | BLOCK_SUB;
export const EXCEPT_TREE = EXCEPT_APEX | EXCEPT_SUB;

/** Lines longer than this are reported as bad, whatever the format. */
export const MAX_LINE = 4096;

export type ParseEvent =
  | { type: 'entry'; line: number; name: string; flags: number }
  /** A line that is not valid in the format. */
  | { type: 'bad'; line: number; reason: string }
  /** A valid rule DNS cannot enforce without over-blocking (URL path, adblock option, regex, RPZ IP trigger). */
  | { type: 'unenforced'; line: number; reason: string }
  /** An IP address where a name was expected: DNS filtering cannot act on it. */
  | { type: 'ip'; line: number };

export type ListParser = (lines: Iterable<string>) => Generator<ParseEvent, void, undefined>;

export type ListFormat = 'domains' | 'hosts' | 'adblock' | 'wildcard' | 'rpz' | 'urls';
