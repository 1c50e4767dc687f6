import { describe, expect, it } from 'vitest';
import { CSV_HEADER, csvField, csvHeader, csvRow } from '../../src/store/csv.js';
import type { LogRow } from '../../src/store/search.js';

/** A small RFC 4180 reader, to check that what we write reads back as written. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

describe('CSV export', () => {
  it.each([
    ['plain.example.com', 'plain.example.com'],
    ['with,comma.example', '"with,comma.example"'],
    ['say "hi".example', '"say ""hi"".example"'],
    ['line\nbreak.example', '"line\nbreak.example"'],
    ['cr\rhere', '"cr\rhere"'],
    ['<script>alert(1)</script>.example', '<script>alert(1)</script>.example'],
    ['=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    ['+cmd', `"'+cmd"`],
    ['-2+3', `"'-2+3"`],
    ['@SUM(A1)', `"'@SUM(A1)"`],
    ['\tTAB', `"'\tTAB"`],
    ['', ''],
    ['ünïcødé.例え.テスト', 'ünïcødé.例え.テスト'],
  ])('%j → %j', (input, expected) => {
    expect(csvField(input)).toBe(expected);
  });

  it('hostile names survive a round trip through a CSV reader, one record per row', () => {
    const names = ['a,b', 'q"uote', 'multi\r\nline', '<script>alert("x")</script>', '\\000\\255.weird', 'x'.repeat(300)];
    const rows: LogRow[] = names.map((name, i) => ({
      id: i,
      ts: Date.UTC(2026, 10, 23, 9, 0, i),
      client: '10.0.0.1',
      group: 'pupils,ks3',
      name,
      qtype: 1,
      action: 'block',
      category: 'adult',
      link: null,
      rcode: 0,
      latencyUs: 12,
      cached: false,
      reason: 'category',
      list: 'ut1-adult',
      check: false,
      transport: 'doh',
      whoId: 1,
      personId: 7,
      user: '=jsmith',
      personName: 'Smith, Jo "JJ"',
      deviceId: 3,
      device: '@laptop',
      mac: '02:00:00:00:00:01',
      erased: false,
    }));
    const text = csvHeader() + rows.map((r) => csvRow(r)).join('');
    const parsed = parseCsv(text);
    expect(parsed).toHaveLength(rows.length + 1);
    expect(parsed[0]).toEqual(CSV_HEADER);
    expect(parsed.slice(1).map((r) => r[3])).toEqual(names);
    expect(parsed.slice(1).every((r) => r.length === 19 && r[2] === 'pupils,ks3')).toBe(true);
    // Person and device text come from rosters and devices: defused like names.
    expect(parsed[1].slice(4)).toEqual([
      'A',
      'block',
      'category',
      'adult',
      'ut1-adult',
      '',
      'NOERROR',
      '12',
      'no',
      'no',
      'doh',
      "'=jsmith",
      'Smith, Jo "JJ"',
      "'@laptop",
      '02:00:00:00:00:01',
    ]);
    expect(parsed[1][0]).toBe('2026-11-23T09:00:00.000Z');
  });
});
