// Roster parsing (table-driven, with malformed and hostile rows), user-name
// normalisation, the group mapping, and imports: counts, the last good roster
// kept when a file is refused, and nothing personal in the change log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRoster } from '../../src/identity/roster/parse.js';
import { importRoster, listRosterImports } from '../../src/identity/roster/import.js';
import { parseUserName, PersonIndex, userKey } from '../../src/identity/users.js';
import { groupFor } from '../../src/identity/groups.js';
import { readPeople } from '../../src/identity/store.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { listChanges, verifyChain } from '../../src/admin/changelog.js';

const GOOGLE_HEADER =
  'First Name [Required],Last Name [Required],Email Address [Required],Password [Required],Password Hash Function [UPLOAD ONLY],Org Unit Path [Required],Recovery Phone [MUST BE IN THE E.164 FORMAT],Employee Type,Status [READ ONLY]';

describe('roster formats', () => {
  it('reads the Google Workspace user export, and nothing it does not need', () => {
    const text = `${GOOGLE_HEADER}\nJo,Smith,jsmith@school.example,****,,/Students/Year 9,+447700900123,,Active\nAnn,Brown,abrown@school.example,****,,/Staff,,Teacher,Active\n`;
    const r = parseRoster(text, 'google');
    expect(r.refused).toEqual([]);
    expect(r.entries).toEqual([
      {
        line: 2,
        userName: 'jsmith@school.example',
        email: 'jsmith@school.example',
        displayName: 'Jo Smith',
        role: undefined,
        yearGroup: undefined,
        orgUnit: '/Students/Year 9',
        aliases: [],
      },
      {
        line: 3,
        userName: 'abrown@school.example',
        email: 'abrown@school.example',
        displayName: 'Ann Brown',
        role: 'Teacher',
        yearGroup: undefined,
        orgUnit: '/Staff',
        aliases: [],
      },
    ]);
    expect(JSON.stringify(r)).not.toContain('447700900123');
  });

  it('reads the generic format', () => {
    const r = parseRoster(
      'username,name,email,role,year_group,org_unit,aliases\njsmith,Jo Smith,jsmith@school.example,pupil,Year 9,,SCHOOL\\jsmith; j.smith\n',
      'generic',
    );
    expect(r.entries[0]).toMatchObject({ userName: 'jsmith', role: 'pupil', yearGroup: 'Year 9', aliases: ['SCHOOL\\jsmith', 'j.smith'] });
  });

  it.each([
    ['no user name', ',Jo\n', 'no user name'],
    ['a user name with a space inside', 'jo smith,Jo\n', 'unusable user name'],
    ['control characters in a name', 'jsmith,"Jo\u0007Smith"\n', 'name: control characters'],
    ['a 300-character name', `jsmith,${'x'.repeat(300)}\n`, 'name: longer than 256 characters'],
    ['a repeated user name (in another spelling)', 'jsmith,A\nJSMITH,B\n', 'user name repeated'],
    ['a bad email', 'jsmith,Jo,not-an-email\n', 'email: not an address'],
  ])('refuses a row with %s', (_what, rows, reason) => {
    const header = rows.includes('not-an-email') ? 'username,name,email\n' : 'username,name\n';
    const r = parseRoster(header + rows, 'generic');
    expect(r.refused.map((x) => x.reason)).toContain(reason);
    expect(JSON.stringify(r.refused)).not.toMatch(/Smith|xxxx/);
  });

  it.each([
    ['<script>alert(1)</script>', '<script>alert(1)</script>'],
    ['=HYPERLINK("http://x")', '=HYPERLINK("http://x")'],
    ['+SUM(A1)', '+SUM(A1)'],
  ])('keeps %s as plain text (escaped where shown, defused in CSV)', (name, expected) => {
    const r = parseRoster(`username,name\njsmith,"${name.replaceAll('"', '""')}"\n`, 'generic');
    expect(r.entries[0].displayName).toBe(expected);
  });

  it.each([
    ['google without Email Address', 'First Name,Last Name\nJo,Smith\n', 'google'],
    ['generic without username', 'name,email\nJo,j@x\n', 'generic'],
    ['a file cut short inside a quote', 'username,name\njsmith,"Jo\n', 'generic'],
  ] as const)('refuses a whole file: %s', (_what, text, format) => {
    expect(parseRoster(text, format).error).toBeDefined();
  });
});

describe('user names', () => {
  const school = new Set(['school.example']);
  it.each([
    ['SCHOOL\\jsmith', 'jsmith'],
    ['jsmith@school.example', 'jsmith'],
    ['JSmith', 'jsmith'],
    ['  jsmith  ', 'jsmith'],
    ['ｊｓｍｉｔｈ', 'jsmith'],
    ['jsmith@elsewhere.example', 'jsmith@elsewhere.example'],
  ])('%s is interned as %s', (raw, key) => {
    expect(userKey(parseUserName(raw)!, school)).toBe(key);
  });
  it.each(['', 'host/PC01.school.local', 'js\u0000mith', 'j smith', 'x'.repeat(300), '@school.example', 'jsmith@'])(
    '%j is no one',
    (raw) => {
      expect(parseUserName(raw)).toBeUndefined();
    },
  );
  it('matches every name a roster gives a person, and none two people share', () => {
    const index = new PersonIndex(school);
    index.add(1, ['jsmith@school.example']);
    index.add(2, ['abrown', 'ann.brown@school.example', 'SCHOOL\\annb']);
    index.add(3, ['sam@school.example']);
    index.add(4, ['sam']);
    expect(['SCHOOL\\jsmith', 'jsmith', 'JSMITH@school.example'].map((n) => index.find(n))).toEqual([1, 1, 1]);
    expect(['annb', 'ann.brown', 'abrown@school.example'].map((n) => index.find(n))).toEqual([2, 2, 2]);
    expect(index.find('jsmith@elsewhere.example')).toBeUndefined();
    expect(index.find('sam')).toBeUndefined();
  });
});

describe('group mapping', () => {
  const mappings = [
    { orgUnit: '/Students', group: 'pupils' },
    { orgUnit: '/Students/Sixth Form', group: 'sixth' },
    { role: 'Teacher', group: 'staff' },
    { yearGroup: 'Year 7', group: 'year7' },
  ];
  it.each([
    [{ orgUnit: '/Students/Year 9' }, 'pupils'],
    [{ orgUnit: '/students/sixth form/Upper' }, 'sixth'],
    [{ orgUnit: '/StudentsX' }, undefined],
    [{ role: 'teacher' }, 'staff'],
    [{ yearGroup: 'Year 7' }, 'year7'],
    [{ orgUnit: '/Students', role: 'Teacher' }, 'pupils'],
    [{}, undefined],
  ])('%j → %s', (person, group) => {
    expect(groupFor(person, mappings)).toBe(group);
  });
});

describe('roster imports', () => {
  let dir: string;
  let db: Database;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gh-roster-'));
    db = openDatabase(join(dir, 'gh.db'));
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const input = (text: string, now = 1000) => ({
    source: 'file:/roster.csv',
    format: 'generic' as const,
    text,
    maxRemovedPercent: 50,
    schoolDomains: new Set(['school.example']),
    actor: 'test',
    now,
  });
  const roster = (n: number, extra = '') =>
    'username,name,org_unit\n' + Array.from({ length: n }, (_, i) => `pupil${i},Pupil ${i},/Students\n`).join('') + extra;

  it('counts added, changed, removed and refused, and records each import', () => {
    expect(importRoster(db, input(roster(4)))).toMatchObject({ ok: true, added: 4, changed: 0, removed: 0, refused: 0 });
    const ids = new Map(readPeople(db).map((p) => [p.userKey, p.id]));
    const next =
      'username,name,org_unit\npupil0,Pupil Zero,/Students\npupil1,Pupil 1,/Students\npupil2,Pupil 2,/Students\nnewbie,New,/Students\n,nameless,\n';
    expect(importRoster(db, input(next, 2000))).toMatchObject({ ok: true, added: 1, changed: 1, removed: 1, refused: 1 });
    const people = readPeople(db);
    expect(people.find((p) => p.userKey === 'pupil3')?.inRoster).toBe(false);
    // Ids are stable across imports.
    expect(people.find((p) => p.userKey === 'pupil0')?.id).toBe(ids.get('pupil0'));
    expect(listRosterImports(db).map((r) => [r.ok, r.added])).toEqual([
      [true, 1],
      [true, 4],
    ]);
    // The change log has the counts, never a name.
    const changes = listChanges(db).filter((c) => c.entity === 'roster');
    expect(changes).toHaveLength(2);
    expect(JSON.stringify(changes)).not.toMatch(/pupil|Pupil|newbie/);
    expect(verifyChain(db).ok).toBe(true);
  });

  it.each([
    ['an empty file', 'username,name\n'],
    ['a file cut to a third', roster(3)],
    ['more refused rows than people', 'username,name\npupil0,A\n,B\n,C\n'],
    ['a file that is not the format', '<html>503 Service Unavailable</html>\n'],
  ])('refuses %s and keeps the last good roster', (_what, text) => {
    importRoster(db, input(roster(10)));
    const before = readPeople(db).filter((p) => p.inRoster).length;
    const r = importRoster(db, input(text, 2000));
    expect(r.ok).toBe(false);
    expect(r.error).toBeTruthy();
    expect(readPeople(db).filter((p) => p.inRoster).length).toBe(before);
    expect(listRosterImports(db)[0]).toMatchObject({ ok: false });
  });
});
