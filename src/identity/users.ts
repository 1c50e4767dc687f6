// User names → people. A NAS reports whatever the user typed at the Wi-Fi
// login: "SCHOOL\jsmith", "jsmith@school.example", "JSmith", "ｊｓｍｉｔｈ"
// (full-width). All of these must be one person, or a pupil could dodge a rule
// by typing their name differently. The rules:
// - NFKC (full-width and other compatibility forms fold to plain letters),
//   trim, lower case; names with control characters or inner spaces are no
//   one's (undefined);
// - "DOMAIN\user" is "user" (a NetBIOS domain is always the school's own);
// - "user@domain" is "user" when the domain is one of identity.domains, and
//   stays "user@domain" otherwise (someone else's jsmith is not ours);
// - "host/NAME" is a computer signing in (802.1X machine authentication), not a person.
// PersonIndex matches a name against every name a roster gives a person
// (user name, email, aliases); a name two people share matches neither.

const CONTROL_OR_SPACE = /[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]/;

/** The longest user name we accept (RFC 2865 allows 253 octets in User-Name). */
const MAX_USER = 253;

export interface UserName {
  /** The whole normalised name, without a NetBIOS domain: "jsmith" or "jsmith@other.example". */
  full: string;
  /** The part before "@" (the whole name when there is none). */
  local: string;
  domain?: string;
}

export function parseUserName(raw: string | undefined): UserName | undefined {
  if (raw === undefined) return undefined;
  let s = raw.normalize('NFKC').trim().toLowerCase();
  if (s === '' || s.length > MAX_USER || CONTROL_OR_SPACE.test(s)) return undefined;
  if (s.startsWith('host/')) return undefined;
  const slash = s.lastIndexOf('\\');
  if (slash >= 0) s = s.slice(slash + 1);
  const at = s.lastIndexOf('@');
  const local = at >= 0 ? s.slice(0, at) : s;
  const domain = at >= 0 ? s.slice(at + 1) : undefined;
  if (local === '' || domain === '') return undefined;
  return { full: s, local, domain };
}

/** The key a name is interned under (identity_people.user_key) when no roster entry claims it. */
export function userKey(name: UserName, schoolDomains: ReadonlySet<string>): string {
  return name.domain === undefined || schoolDomains.has(name.domain) ? name.local : name.full;
}

const AMBIGUOUS = -1;

/** Every name that means a person → their id. Rebuilt when the roster changes. */
export class PersonIndex {
  private readonly ids = new Map<string, number>();

  constructor(private readonly schoolDomains: ReadonlySet<string>) {}

  /** Index a person under each of their names (user name, email, aliases). */
  add(personId: number, names: (string | undefined)[]): void {
    const keys = new Set<string>();
    for (const raw of names) {
      const n = parseUserName(raw);
      if (!n) continue;
      keys.add(n.full);
      if (n.domain !== undefined && this.schoolDomains.has(n.domain)) keys.add(n.local);
    }
    for (const k of keys) {
      const had = this.ids.get(k);
      this.ids.set(k, had === undefined || had === personId ? personId : AMBIGUOUS);
    }
  }

  /** The person a name means, if exactly one person has it. */
  find(raw: string | undefined): number | undefined {
    const n = parseUserName(raw);
    if (!n) return undefined;
    const candidates = [n.full];
    if (n.domain !== undefined && this.schoolDomains.has(n.domain)) candidates.push(n.local);
    for (const k of candidates) {
      const id = this.ids.get(k);
      if (id !== undefined) return id === AMBIGUOUS ? undefined : id;
    }
    return undefined;
  }

  /** Whether a name is claimed by two people (so it means neither). */
  isAmbiguous(raw: string | undefined): boolean {
    const n = parseUserName(raw);
    return n !== undefined && (this.ids.get(n.full) === AMBIGUOUS || this.ids.get(n.local) === AMBIGUOUS);
  }
}
