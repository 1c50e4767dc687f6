// Every lockout of an admin UI account is an IT alert (operational kind
// 'account-locked') with the account, its role and the address the failures
// came from, and a line in the service log. Anyone on an allowed network can
// lock any account with three wrong passwords (the school policy asks for the
// lockout), so IT must hear of each one; README "Break-glass" says how to get
// back in.
import type { AdminContext } from './context.js';
import type { UserRow } from './users.js';

export interface Lockout {
  user: UserRow;
  address: string | null;
  failedAttempts: number;
  lastFailure: string;
}

export function reportLockout(ctx: AdminContext, lock: Lockout): void {
  const { user, address } = lock;
  const unlock = ctx.config.admin.unlockAfterMinutes;
  ctx.logger.warn({ user: user.name, role: user.role, address, lastFailure: lock.lastFailure }, 'admin account locked');
  const alerts = ctx.live.alerts;
  if (!alerts?.operational) {
    ctx.logger.warn({ user: user.name }, 'no alert engine connected: the lockout raised no IT alert');
    return;
  }
  alerts.operational({
    kind: 'account-locked',
    // Throttled per account and source: the inbox shows the address as the alert's client.
    subject: user.name,
    ...(address ? { client: address } : {}),
    message:
      `The ${user.role} account "${user.name}" was locked after ${lock.failedAttempts} failed attempts ` +
      `(the last: ${lock.lastFailure}) from ${address ?? 'an unknown address'}. ` +
      (unlock > 0 ? `It unlocks by itself after ${unlock} minutes; ` : '') +
      'an admin can unlock it on the Users page, or on the server: gatehouse user unlock --config FILE NAME.',
    details: { account: user.name, role: user.role, address, failedAttempts: lock.failedAttempts, lastFailure: lock.lastFailure },
    at: ctx.now(),
  });
}
