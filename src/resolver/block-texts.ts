// The Extended DNS Error (RFC 8914) each kind of block carries. The text names
// the category, never the name asked for or a list entry; for illegal
// categories it is one generic text. Made once per config, so a block reuses
// the same objects (and block-answer.ts its encoded OPT record).
import { EDE, type Ede } from './wire.js';
import type { CategoryTable } from './categories.js';

const ILLEGAL: Ede = { code: EDE.BLOCKED, text: 'Blocked: illegal content (IWF/CTIRU)' };
const EXCEPTION: Ede = { code: EDE.BLOCKED, text: 'Blocked by the school filtering policy' };

export class BlockTexts {
  private readonly byCategory: readonly Ede[];
  private readonly bySchedule: readonly Ede[];
  private readonly byKeyword: readonly Ede[];

  constructor(categories: CategoryTable) {
    const make = (code: number, text: (name: string) => string) =>
      categories.names.map((name, bit) => (categories.isIllegal(bit) ? ILLEGAL : { code, text: text(name) }));
    this.byCategory = make(EDE.BLOCKED, (name) => `Blocked: ${name}`);
    this.bySchedule = make(EDE.BLOCKED, (name) => `Blocked at this time: ${name}`);
    // Keyword rules are a guess from the name, not a listed domain: "Filtered".
    this.byKeyword = make(EDE.FILTERED, (name) => `Filtered: ${name}`);
  }

  /** The EDE for a block of `reason` reported under category `bit` (-1: none, a deny exception). */
  for(reason: string, bit: number): Ede {
    if (bit < 0) return EXCEPTION;
    if (reason === 'schedule') return this.bySchedule[bit];
    if (reason === 'keyword') return this.byKeyword[bit];
    return this.byCategory[bit];
  }
}
