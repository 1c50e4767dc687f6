// The MFA pages: enrolment (QR code and the key in groups of four), the code
// step with its recovery-code alternative, and the recovery codes, shown once.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../html.js';
import { RECOVERY_CODE_COUNT } from '../recovery-codes.js';
import { qrDataUrl, totpUri } from '../totp.js';
import { csrfField, messages, renderPage } from './layout.js';

/** ABCD EFGH IJKL …: a 32-character key is read off a screen and typed without losing the place. */
export function groupKey(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(' ') ?? '';
}

export interface MfaPageOptions {
  userName: string;
  /** Enrolling: the pending secret in the clear; null: the user has MFA and enters a code. */
  secret: string | null;
  /** Why the role asks (login) or that it is optional (account page). */
  required: boolean;
  errors: string[];
  status?: number;
}

export async function sendMfaPage(request: FastifyRequest, reply: FastifyReply, opts: MfaPageOptions) {
  const { secret } = opts;
  const codeForm = html`<form method="post" class="card narrow" autocomplete="off">${csrfField(request)}
        <label>Code <input name="code" inputmode="numeric" pattern="[0-9 ]{6,7}" maxlength="7" required autocomplete="one-time-code"></label>
        <button type="submit">${secret ? 'Turn on MFA' : 'Verify'}</button>
      </form>`;
  const body = secret
    ? html`${messages('error', opts.errors)}
        <p>${opts.required ? 'Your role needs a second factor.' : 'Add a second factor to your account.'} Scan this code with an
        authenticator app (for example Microsoft or Google Authenticator), or type the key into it, then enter the 6-digit code it shows.</p>
        <figure class="qr"><img src="${await qrDataUrl(totpUri(secret, opts.userName))}" alt="QR code for the authenticator app" width="200" height="200">
        <figcaption>Key: <code id="totp-secret">${groupKey(secret)}</code></figcaption></figure>
        ${codeForm}`
    : html`${messages('error', opts.errors)}
        <p>Enter the 6-digit code from your authenticator app.</p>
        ${codeForm}
        <details class="card narrow" id="use-recovery"><summary>Lost your phone? Use a recovery code</summary>
          <form method="post" autocomplete="off">${csrfField(request)}
            <label>Recovery code <input name="recovery" required maxlength="20" autocomplete="off" autocapitalize="characters" spellcheck="false" placeholder="XXXXX-XXXXX"></label>
            <button type="submit">Use the recovery code</button>
          </form>
          <p class="hint">Each of the ${RECOVERY_CODE_COUNT} codes you were given when you set up MFA works once. No codes left? An IT administrator can reset your MFA.</p>
        </details>`;
  return reply
    .code(opts.status ?? 200)
    .type('text/html')
    .send(renderPage(request, { title: secret ? 'Set up MFA' : 'Verify your identity', body }));
}

/** The recovery codes, this once; `next` is where the user goes on to. */
export function sendRecoveryCodesPage(request: FastifyRequest, reply: FastifyReply, codes: string[], next: string) {
  const body = html`<div class="warning" role="note"><p><strong>Save these codes now: they are shown only this once.</strong>
      Each one logs you in once in place of the authenticator's code, if you lose your phone. Keep them away from the phone:
      printed and locked away, or in a password manager.</p></div>
    <ol class="codes" id="recovery-codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
    <p class="hint">New codes (Your account, then "New recovery codes") replace all of these.</p>
    <p><a class="button" id="recovery-codes-saved" href="${next}">I have saved them: continue</a></p>`;
  return reply.type('text/html').send(renderPage(request, { title: 'Your recovery codes', body }));
}
