// What every upstream transport (UDP, TCP, TLS) shares: the query it sends,
// the checks an answer must pass, and random query IDs.
import { randomFillSync } from 'node:crypto';
import { FLAG_AD, FLAG_CD, HEADER_SIZE, OPT_SIZE, readResponseLayout, sameQuestion, writeOpt } from './wire.js';

/** The UDP buffer size we advertise to upstreams (RFC 9715's safe default). */
export const UPSTREAM_UDP_SIZE = 1232;

export interface Upstream {
  readonly url: string;
  /** Send one question (name + type + class, wire form) and resolve with the raw answer. */
  query(question: Buffer, dnssecOk: boolean, checkingDisabled: boolean, timeoutMs: number): Promise<Buffer>;
  close(): void;
}

export class UpstreamError extends Error {
  constructor(
    readonly code: 'GH_ERR_UPSTREAM_TIMEOUT' | 'GH_ERR_UPSTREAM_NETWORK' | 'GH_ERR_UPSTREAM_CLOSED' | 'GH_ERR_NO_SYSTEM_NAMESERVER',
    message: string,
  ) {
    super(message);
  }
}

// Query IDs come from a pool filled by the CSPRNG, refilled when used up.
const idPool = new Uint16Array(4096);
let idNext = idPool.length;
export function randomId(): number {
  if (idNext === idPool.length) {
    randomFillSync(idPool);
    idNext = 0;
  }
  return idPool[idNext++];
}

/**
 * A recursive query for `question` with our OPT record. AD is always set (RFC
 * 6840 §5.7), so a validating upstream says whether the data is secure even
 * when DO is clear; the cache passes AD on only to clients that asked for it.
 */
export function buildQuery(id: number, question: Buffer, dnssecOk: boolean, checkingDisabled: boolean): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + question.length + OPT_SIZE);
  out.writeUInt16BE(id, 0);
  out[2] = 0x01; // RD
  out[3] = FLAG_AD | (checkingDisabled ? FLAG_CD : 0);
  out.writeUInt16BE(1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(1, 10);
  question.copy(out, HEADER_SIZE);
  writeOpt(out, HEADER_SIZE + question.length, UPSTREAM_UDP_SIZE, dnssecOk);
  return out;
}

/**
 * An answer is accepted only if it is a response to exactly the question we
 * asked, and its records can be walked (the cache stores it as it is; a
 * truncated answer is only asked again over TCP): any other packet is dropped,
 * and the real answer may still come.
 */
export function matchesQuery(answer: Buffer, id: number, question: Buffer): boolean {
  return (
    answer.length >= HEADER_SIZE + question.length &&
    answer.readUInt16BE(0) === id &&
    (answer[2] & 0x80) !== 0 &&
    answer.readUInt16BE(4) === 1 &&
    sameQuestion(answer, HEADER_SIZE, question, 0, question.length) &&
    ((answer[2] & 0x02) !== 0 || readResponseLayout(answer, HEADER_SIZE + question.length) !== null)
  );
}

export interface UpstreamAddress {
  protocol: 'udp' | 'tcp' | 'tls';
  host: string;
  port: number;
}

export function parseUpstreamUrl(url: string): UpstreamAddress {
  const m = /^(udp|tcp|tls):\/\/(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(url);
  if (!m) throw new Error(`bad upstream URL ${url}`);
  return { protocol: m[1] as UpstreamAddress['protocol'], host: m[2] ?? m[3], port: Number(m[4]) };
}

/** Pending queries keyed by ID, each with its question and timer. */
export interface Pending {
  question: Buffer;
  resolve: (answer: Buffer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}
