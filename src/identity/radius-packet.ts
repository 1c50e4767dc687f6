// One RADIUS Accounting-Request (RFC 2866), checked and read. The `radius`
// package (node-radius) decodes the attributes and encodes our
// Accounting-Response; the request authenticator is checked here, because the
// package compares the two digests as UTF-8 strings, and different invalid
// byte sequences decode to the same replacement characters (a forgery would
// need far fewer than 2^128 tries). RFC 2866 §3: the authenticator is
// MD5(Code + Identifier + Length + 16 zero octets + request attributes + secret).
// Addresses are read from the raw attributes, with their lengths checked:
// Framed-IP-Address (8, RFC 2865), Framed-IPv6-Prefix (97, RFC 3162) and
// Framed-IPv6-Address (168, RFC 6911).
import { createHash, timingSafeEqual } from 'node:crypto';
import radius from 'radius';
import ipaddr from 'ipaddr.js';
import { normaliseMac } from './names.js';
import { maskedKey } from './map.js';

const CODE_ACCOUNTING_REQUEST = 4;
const HEADER = 20;
/** RFC 2865 §3: the largest RADIUS packet. */
const MAX_PACKET = 4096;

export type StatusType = 'Start' | 'Stop' | 'Interim-Update' | 'Accounting-On' | 'Accounting-Off';

export interface AccountingRequest {
  identifier: number;
  status: StatusType | 'other';
  userName?: string;
  /** Calling-Station-Id as a MAC, when it is one. */
  mac?: string;
  sessionId?: string;
  /** Framed-IP-Address, Framed-IPv6-Address, in the map's normal form. */
  addresses: string[];
  /** Framed-IPv6-Prefix as "prefix/len". */
  prefixes: string[];
  /** NAS-IP-Address, when sent. */
  nas?: string;
  /** Acct-Interim-Interval (seconds), when sent. */
  interimInterval?: number;
}

export type ReadResult =
  | { ok: true; request: AccountingRequest; decoded: radius.RadiusPacket }
  | { ok: false; reason: 'malformed' | 'not-accounting' | 'authenticator' };

/** The request authenticator matches the shared secret (RFC 2866 §3). `packet` is cut to its Length. */
export function authenticatorMatches(packet: Buffer, secret: Buffer): boolean {
  const md5 = createHash('md5');
  md5.update(packet.subarray(0, 4));
  md5.update(Buffer.alloc(16));
  md5.update(packet.subarray(HEADER));
  md5.update(secret);
  return timingSafeEqual(md5.digest(), packet.subarray(4, HEADER));
}

/** Check and read one datagram. Octets past the Length field are padding (RFC 2865 §3) and ignored. */
export function readAccountingRequest(datagram: Buffer, secret: Buffer): ReadResult {
  if (datagram.length < HEADER) return { ok: false, reason: 'malformed' };
  const length = datagram.readUInt16BE(2);
  if (length < HEADER || length > MAX_PACKET || length > datagram.length) return { ok: false, reason: 'malformed' };
  const packet = datagram.subarray(0, length);
  if (packet[0] !== CODE_ACCOUNTING_REQUEST) return { ok: false, reason: 'not-accounting' };
  // Attributes must tile the packet exactly before anything is believed.
  for (let at = HEADER; at < length;) {
    if (at + 2 > length || packet[at + 1] < 2 || at + packet[at + 1] > length) return { ok: false, reason: 'malformed' };
    at += packet[at + 1];
  }
  if (!authenticatorMatches(packet, secret)) return { ok: false, reason: 'authenticator' };
  let decoded: radius.RadiusPacket;
  try {
    decoded = radius.decode_without_secret({ packet: Buffer.from(packet) });
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const a = decoded.attributes as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const request: AccountingRequest = {
    identifier: decoded.identifier,
    status:
      (['Start', 'Stop', 'Interim-Update', 'Accounting-On', 'Accounting-Off'] as const).find((s) => s === a['Acct-Status-Type']) ?? 'other',
    userName: text(a['User-Name']),
    mac: normaliseMac(text(a['Calling-Station-Id'])),
    sessionId: text(a['Acct-Session-Id']),
    addresses: [],
    prefixes: [],
    interimInterval: typeof a['Acct-Interim-Interval'] === 'number' ? a['Acct-Interim-Interval'] : undefined,
  };
  for (const [type, value] of decoded.raw_attributes as [number, Buffer][]) {
    if (type === 8) {
      if (value.length !== 4) return { ok: false, reason: 'malformed' };
      request.addresses.push(ipaddr.fromByteArray([...value]).toString());
    } else if (type === 4 && value.length === 4) {
      request.nas = ipaddr.fromByteArray([...value]).toString();
    } else if (type === 168) {
      if (value.length !== 16) return { ok: false, reason: 'malformed' };
      request.addresses.push(ipaddr.fromByteArray([...value]).toString());
    } else if (type === 97) {
      // Reserved (1), Prefix-Length (1), Prefix (up to 16 octets, RFC 3162 §2.3).
      const bits = value[1];
      if (value.length < 2 || value.length > 18 || bits > 128 || value.length - 2 < Math.ceil(bits / 8))
        return { ok: false, reason: 'malformed' };
      const bytes = Buffer.alloc(16);
      value.copy(bytes, 0, 2);
      const prefix = ipaddr.fromByteArray([...bytes]) as ipaddr.IPv6;
      request.prefixes.push(bits === 128 ? prefix.toString() : `${maskedKey(prefix, bits)}/${bits}`);
    }
  }
  // 255.255.255.254 / .255 mean "the NAS or the user chooses" (RFC 2865 §5.8): no address known.
  request.addresses = request.addresses.filter((x) => x !== '255.255.255.254' && x !== '255.255.255.255' && x !== '0.0.0.0');
  return { ok: true, request, decoded };
}

/** The Accounting-Response to a request we have recorded (RFC 2866 §4.2). */
export function accountingResponse(decoded: radius.RadiusPacket, secret: string): Buffer {
  return radius.encode_response({ packet: decoded, code: 'Accounting-Response', secret });
}
