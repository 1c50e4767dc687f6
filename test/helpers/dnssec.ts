// DNSSEC-signed zones for integration tests, made with ldns (Debian package
// ldnsutils): one ECDSA P-256 key per zone (algorithm 13, RFC 6605) that signs
// everything, its DS for the parent, and its DNSKEY for a trust anchor.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram } from './programs.js';

export interface SignedZone {
  /** The signed zone file's text. */
  text: string;
  /** The key's base name in the directory (for signing again with it). */
  key: string;
  /** The DS record for the parent zone (presentation form, one line). */
  ds: string;
  /** The DNSKEY record, for a trust anchor file. */
  dnskey: string;
}

/**
 * Sign `text`, the zone `origin` (with its trailing dot), in `dir`, with a new
 * key or the one named. Dates are ldns's (YYYYMMDD or seconds since the
 * epoch); without them the signatures are valid from now for four weeks.
 */
export function signZone(
  dir: string,
  origin: string,
  text: string,
  options: { inception?: string; expiration?: string; key?: string } = {},
): SignedZone {
  const key =
    options.key ??
    execFileSync(findProgram('ldns-keygen')!, ['-a', 'ECDSAP256SHA256', '-k', origin], { cwd: dir, encoding: 'utf8' }).trim();
  const unsigned = join(dir, `${origin}zone`);
  const signed = `${unsigned}.signed`;
  writeFileSync(unsigned, text);
  const args = ['-o', origin, '-f', signed];
  if (options.inception) args.push('-i', options.inception);
  if (options.expiration) args.push('-e', options.expiration);
  execFileSync(findProgram('ldns-signzone')!, [...args, unsigned, join(dir, key)], { cwd: dir });
  return {
    text: readFileSync(signed, 'utf8'),
    key,
    ds: readFileSync(join(dir, `${key}.ds`), 'utf8').trim(),
    dnskey: readFileSync(join(dir, `${key}.key`), 'utf8').trim(),
  };
}

const isSignatureOver = (line: string, owner: string, type: string) => {
  const f = line.split(/\s+/);
  // owner TTL IN RRSIG type algorithm labels ttl expiration inception tag signer signature…
  return f[0] === owner && f[3] === 'RRSIG' && f[4] === type;
};

/**
 * The signed zone with the signature over `owner`'s `type` records replaced by
 * one from the same key that expired in 2020: everything else still verifies.
 */
export function expireSignature(dir: string, origin: string, unsigned: string, zone: SignedZone, owner: string, type: string): string {
  const old = signZone(dir, origin, unsigned, { inception: '20200101', expiration: '20200201', key: zone.key });
  const expired = old.text.split('\n').find((line) => isSignatureOver(line, owner, type));
  if (!expired) throw new Error(`no RRSIG over ${owner} ${type}`);
  return zone.text
    .split('\n')
    .map((line) => (isSignatureOver(line, owner, type) ? expired : line))
    .join('\n');
}

/**
 * The signed zone with the signature over `owner`'s `type` records changed in
 * one place: still well-formed, no longer valid.
 */
export function breakSignature(signed: string, owner: string, type: string): string {
  let found = false;
  const out = signed
    .split('\n')
    .map((line) => {
      if (!isSignatureOver(line, owner, type)) return line;
      found = true;
      const f = line.split(/\s+/);
      const signature = f.slice(12).join('');
      const i = signature.length >> 1;
      const changed = signature.slice(0, i) + (signature[i] === 'A' ? 'B' : 'A') + signature.slice(i + 1);
      return [...f.slice(0, 12), changed].join('\t');
    })
    .join('\n');
  if (!found) throw new Error(`no RRSIG over ${owner} ${type}`);
  return out;
}
