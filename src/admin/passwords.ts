// Password hashing (scrypt, salted, parameters stored with the hash so they can
// be raised later) and the school password policy, with common passwords refused
// (guessable.ts).
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { guessableProblem } from './guessable.js';

const KEY_LENGTH = 32;
/** N=2^16, r=8: about 64 MiB and 0.2 s per hash on a small appliance. */
const DEFAULT_PARAMS = { N: 1 << 16, r: 8, p: 1 };

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

const maxmem = (N: number, r: number) => 256 * N * r + 1024 * 1024;

/** Returns `scrypt$N$r$p$salt$key` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = DEFAULT_PARAMS;
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N, r, p, maxmem: maxmem(N, r) });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64url');
  const expected = Buffer.from(parts[5], 'base64url');
  if (!N || !r || !p || N > 1 << 20 || expected.length === 0) return false;
  const key = await scrypt(password.normalize('NFC'), salt, expected.length, { N, r, p, maxmem: maxmem(N, r) });
  return timingSafeEqual(key, expected);
}

/** A hash of a random password: verified against when the user does not exist, so timing does not tell. */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(18).toString('base64'));
  return dummyHash;
}

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 256;
export const PASSWORD_HISTORY = 5;

/** Problems with a new password that need no stored data (empty when it is fine). */
export function passwordRuleProblems(password: string, userName: string): string[] {
  const problems: string[] = [];
  if ([...password].length < MIN_PASSWORD_LENGTH) problems.push(`use at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`use at most ${MAX_PASSWORD_LENGTH} characters`);
  if (!/\p{Lu}/u.test(password)) problems.push('include an upper-case letter');
  if (!/\p{Nd}/u.test(password)) problems.push('include a digit');
  if (userName && password.toLowerCase().includes(userName.toLowerCase())) problems.push('do not include your user name');
  // The deny-list last: a password that breaks a rule above gets only those messages.
  if (problems.length === 0) {
    const guessable = guessableProblem(password, userName);
    if (guessable) problems.push(guessable);
  }
  return problems;
}

/** All problems, including reuse of one of the last PASSWORD_HISTORY passwords. */
export async function passwordProblems(password: string, userName: string, recentHashes: string[]): Promise<string[]> {
  const problems = passwordRuleProblems(password, userName);
  if (problems.length > 0) return problems;
  for (const hash of recentHashes.slice(0, PASSWORD_HISTORY)) {
    if (await verifyPassword(password, hash)) return [`do not reuse one of your last ${PASSWORD_HISTORY} passwords`];
  }
  return [];
}
