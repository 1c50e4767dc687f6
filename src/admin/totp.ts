// TOTP (RFC 6238) for MFA: 30-second steps, 6 digits, ±1 step of clock drift,
// and a code's step can be used once only (no replay within its window).
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';

const PERIOD = 30;

function totpFor(secret: string, label = 'user'): TOTP {
  return new TOTP({ issuer: 'Gatehouse', label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secret) });
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export function totpUri(secret: string, userName: string): string {
  return totpFor(secret, userName).toString();
}

/**
 * The time step the code belongs to, or null when it is wrong or was already
 * used (its step is not after `lastStep`).
 */
export function checkTotp(secret: string, code: string, nowMs: number, lastStep: number): number | null {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totpFor(secret).validate({ token, timestamp: nowMs, window: 1 });
  if (delta === null) return null;
  const step = Math.floor(nowMs / 1000 / PERIOD) + delta;
  return step > lastStep ? step : null;
}

/** The enrolment QR code as a data: URL (allowed by the CSP's img-src). */
export async function qrDataUrl(uri: string): Promise<string> {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return 'data:image/svg+xml;base64,' + Buffer.from(svg).toString('base64');
}
