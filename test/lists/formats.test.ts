// Every list format, table-driven: entries with their flags, and the lines
// that are bad, unenforced or IP addresses, each with its line number.
import { describe, expect, it } from 'vitest';
import {
  BLOCK_APEX,
  BLOCK_SUB,
  BLOCK_TREE,
  EXCEPT_APEX,
  EXCEPT_SUB,
  EXCEPT_TREE,
  MAX_LINE,
  PARSERS,
  type ListFormat,
  type ParseEvent,
} from '../../src/lists/formats/index.js';
import { linesOf } from '../../src/lists/lines.js';

/** Events in a compact form: "name:flags@line", "bad@line", "unenforced@line", "ip@line". */
function parse(format: ListFormat, text: string): string[] {
  return [...PARSERS[format](linesOf(text))].map(show);
}

function show(e: ParseEvent): string {
  return e.type === 'entry' ? `${e.name}:${e.flags}@${e.line}` : `${e.type}@${e.line}`;
}

const T = BLOCK_TREE;

describe.each<[ListFormat, string, string[]]>([
  // domains
  ['domains', 'example.com\n# comment\n\nsub.Example.ORG.\n', [`example.com:${T}@1`, `sub.example.org:${T}@4`]],
  ['domains', 'a.example # trailing comment\r\n', [`a.example:${T}@1`]],
  ['domains', '*.wild.example\n.lead.example\n', [`wild.example:${BLOCK_SUB}@1`, `lead.example:${T}@2`]],
  ['domains', 'bad..name\n-ok-.example\nspace in.name\nfoo!.example\n', ['bad@1', `-ok-.example:${T}@2`, 'bad@3', 'bad@4']],
  ['domains', '118.123.4.224\n999.1.1.1\n', ['ip@1', 'bad@2']],
  ['domains', `${'a'.repeat(63)}.example\n${'a'.repeat(64)}.example\n`, [`${'a'.repeat(63)}.example:${T}@1`, 'bad@2']],
  ['domains', `${'abcdefghi.'.repeat(25)}com\n${'abcdefghi.'.repeat(26)}com\n`, [`${'abcdefghi.'.repeat(25)}com:${T}@1`, 'bad@2']],
  [
    'domains',
    'xn--bcher-kva.example\nbücher.example\n_dmarc.example\n',
    [`xn--bcher-kva.example:${T}@1`, `xn--bcher-kva.example:${T}@2`, `_dmarc.example:${T}@3`],
  ],
  ['domains', '', []],
  // hosts
  [
    'hosts',
    '# c\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n0.0.0.0 ads.example\n127.0.0.1  a.example b.example # c\n',
    [`ads.example:${T}@4`, `a.example:${T}@5`, `b.example:${T}@5`],
  ],
  [
    'hosts',
    '0.0.0.0 0.0.0.0\nbare.example\nnot-an-ip bad.example\n0.0.0.0 bad_.example!\n0.0.0.0 10.0.0.1\n',
    [`bare.example:${T}@2`, 'bad@3', 'bad@4', 'ip@5'],
  ],
  // adblock
  [
    'adblock',
    '[Adblock Plus 2.0]\n! comment\n||ads.example^\n@@||ok.ads.example^\n||*.sub.example^\n@@||*.x.example^|\n',
    [`ads.example:${T}@3`, `ok.ads.example:${EXCEPT_TREE}@4`, `sub.example:${BLOCK_SUB}@5`, `x.example:${EXCEPT_SUB}@6`],
  ],
  [
    'adblock',
    '||imp.example^$important\n||p.example/path^\n||o.example^$third-party\n/ads[0-9]+/\nexample.com##.banner\n|http://u.example/\n||a*b.example^\nplain.example\n',
    [
      `imp.example:${T}@1`,
      'unenforced@2',
      'unenforced@3',
      'unenforced@4',
      'unenforced@5',
      'unenforced@6',
      'unenforced@7',
      `plain.example:${T}@8`,
    ],
  ],
  ['adblock', '||bad^name.example^\n||^\n@@\n', ['bad@1', 'bad@2', 'bad@3']],
  // wildcard
  [
    'wildcard',
    '*.vpn.example\nvpn2.example\n# c\na.*.example\n*.\n',
    [`vpn.example:${BLOCK_SUB}@1`, `vpn2.example:${T}@2`, 'bad@4', 'bad@5'],
  ],
  // urls
  [
    'urls',
    'whole.example\nslash.example/\nhttp://scheme.example/\npath.example/some/page\n178.128.25.172/tag/x\n10.0.0.1\n[2001:db8::1]/x\nuser@auth.example:8080/\nbad!host/x\n',
    [
      `whole.example:${T}@1`,
      `slash.example:${T}@2`,
      `scheme.example:${T}@3`,
      'unenforced@4',
      'ip@5',
      'ip@6',
      'ip@7',
      `auth.example:${T}@8`,
      'bad@9',
    ],
  ],
])('%s format', (format, text, expected) => {
  it(`parses ${JSON.stringify(text.slice(0, 40))}…`, () => {
    expect(parse(format, text)).toEqual(expected);
  });
});

describe('rpz format', () => {
  const zone = [
    '$TTL 300',
    '$ORIGIN rpz.example.',
    '@ IN SOA ns.rpz.example. admin.rpz.example. (',
    '   2026010101 ; serial',
    '   3600 600 86400 300 )',
    '  IN NS ns.rpz.example.',
    'bad.example CNAME .',
    '*.bad.example 300 IN CNAME .',
    'nodata.example IN CNAME *.',
    'ok.bad.example CNAME rpz-passthru.',
    '*.okwild.example CNAME rpz-passthru.',
    'abs.example.rpz.example. CNAME rpz-drop.',
    'walled.example A 192.0.2.1',
    '      AAAA 2001:db8::1',
    'tcp.example CNAME rpz-tcp-only.',
    '32.1.2.0.192.rpz-ip CNAME .',
    'outside.example. CNAME .',
    'txt.example TXT "x"',
    '$INCLUDE other.zone',
    'bad!.example CNAME .',
    '$ORIGIN sub.rpz.example.',
    'rel CNAME .',
    'nodata CNAME',
  ].join('\n');

  it('reads triggers, actions, origins and continuation lines', () => {
    expect(parse('rpz', zone)).toEqual([
      `bad.example:${BLOCK_APEX}@7`,
      `bad.example:${BLOCK_SUB}@8`,
      `nodata.example:${BLOCK_APEX}@9`,
      `ok.bad.example:${EXCEPT_APEX}@10`,
      `okwild.example:${EXCEPT_SUB}@11`,
      `abs.example:${BLOCK_APEX}@12`,
      `walled.example:${BLOCK_APEX}@13`,
      `walled.example:${BLOCK_APEX}@14`,
      'unenforced@15',
      'unenforced@16',
      'bad@17',
      'unenforced@18',
      'unenforced@19',
      'bad@20',
      `rel.sub:${BLOCK_APEX}@22`,
      'bad@23',
    ]);
  });

  it('takes names as they are when there is no SOA or origin', () => {
    expect(parse('rpz', 'plain.example CNAME .\nabs.example. CNAME .\n')).toEqual([
      `plain.example:${BLOCK_APEX}@1`,
      `abs.example:${BLOCK_APEX}@2`,
    ]);
  });

  it('reports an unclosed parenthesis once, at its first line', () => {
    expect(parse('rpz', '@ SOA a. b. (\n1\n2\n')).toEqual(['bad@1']);
  });
});

describe('hostile input', () => {
  it.each(['domains', 'hosts', 'adblock', 'wildcard', 'rpz', 'urls'] as ListFormat[])(
    '%s: an overlong line is one bad line, and parsing goes on',
    (format) => {
      const events = [
        ...PARSERS[format]([
          'x'.repeat(MAX_LINE + 1),
          format === 'hosts'
            ? '0.0.0.0 after.example'
            : format === 'adblock'
              ? '||after.example^'
              : format === 'rpz'
                ? 'after.example CNAME .'
                : 'after.example',
        ]),
      ];
      expect(events.map(show)).toEqual(['bad@1', `after.example:${format === 'rpz' ? BLOCK_APEX : T}@2`]);
    },
  );

  it.each(['domains', 'hosts', 'adblock', 'wildcard', 'rpz', 'urls'] as ListFormat[])(
    '%s: binary garbage gives bad lines, never entries or exceptions',
    (format) => {
      const junk = Buffer.alloc(20_000);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 197 + 11) % 256;
      const events = [...PARSERS[format](linesOf(junk.toString('utf8')))];
      expect(events.filter((e) => e.type === 'bad').length).toBeGreaterThan(0);
      expect(events.filter((e) => e.type === 'entry')).toEqual([]);
    },
  );
});
