// The one catalogue of Gatehouse's error codes, as fastify keeps its codes in
// lib/errors.js. Every error Gatehouse throws on purpose carries a `code` from
// this list, so callers (start-up, the CLI, the admin API's JSON answers) and
// people reading the service log match on the code, never on the message.
// The error classes stay beside the code that throws them (StoreError,
// UserError, …); test/errors.test.ts fails when src/ uses a code that is not
// listed here, or this list keeps one that nothing uses.

export const ERROR_CODES = {
  // Configuration and the command line
  GH_ERR_CONFIG: 'The config file is invalid: each problem is listed with its key and line; nothing was applied.',
  GH_ERR_NO_CONFIG: 'No config file was found (--config, $GATEHOUSE_CONFIG, /etc/gatehouse/gatehouse.yaml were tried).',
  GH_ERR_USAGE: 'The command line cannot be run as given (unknown option, missing argument); exit code 2.',

  // The store (SQLite)
  GH_ERR_STORE_OPEN: 'The database file cannot be opened, is not a database, or cannot be written.',
  GH_ERR_STORE_VERSION: 'The database was written by a newer Gatehouse (its schema version is above what this build knows).',
  GH_ERR_STORE_QUERY: 'A query-log search filter is invalid (bad time range, unknown action, bad cursor).',

  // Resolving
  GH_ERR_UPSTREAM_TIMEOUT: 'An upstream did not answer within the link timeout.',
  GH_ERR_UPSTREAM_NETWORK: 'A socket error talking to an upstream (unreachable, reset, refused).',
  GH_ERR_UPSTREAM_CLOSED: 'The upstream was closed (a reload replaced it, or the service is stopping) while a query waited.',
  GH_ERR_NO_SYSTEM_NAMESERVER: "The 'system' upstream has no usable nameserver in /etc/resolv.conf (none, or only our own addresses).",
  GH_ERR_ALL_LINKS_FAILED: 'Every link failed this query; the client gets SERVFAIL with EDE 22 (No Reachable Authority).',
  GH_ERR_MALFORMED_ANSWER: 'A link handed the cache an answer that cannot be walked (links check every answer, so this is a bug).',

  // Admin accounts
  GH_ERR_USER_NAME: 'A user name is not 2 to 64 letters, digits, ".", "_", "@" or "-".',
  GH_ERR_USER_EXISTS: 'A user with that name already exists.',
  GH_ERR_USER_ROLE: 'Not one of the roles (admin, dsl, auditor, approver).',
  GH_ERR_USER_NOT_FOUND: 'No such user.',
  GH_ERR_PASSWORD: 'The password is refused: too short, too guessable, or on the common-password deny-list.',
  GH_ERR_LAST_ADMIN: 'The last active admin cannot be disabled or lose the admin role.',

  // Change control of the filtering policy (src/changes/): exceptions, groups and switch-offs change only by change requests
  GH_ERR_CHANGE_INVALID: 'A change request is invalid (a field missing, an unknown group, not a domain name, a switch-off without an end).',
  GH_ERR_CHANGE_ILLEGAL:
    'A change would touch illegal content (IWF, CTIRU lists or categories), which no change can; the name is not stored.',
  GH_ERR_CHANGE_NOT_FOUND: 'No such change request.',
  GH_ERR_CHANGE_STATE: 'The change request cannot take that step from its state (approving one already applied, …); HTTP 409.',
  GH_ERR_CHANGE_FOUR_EYES: 'Four eyes: the account that asked for a change can never approve it.',
  GH_ERR_CHANGE_MFA: 'Approving a change needs an approver whose session passed MFA.',
  GH_ERR_CHANGE_ROLE: "The account's role may not take this step (only an approver decides; only named admins make emergency changes).",
  GH_ERR_CHANGE_CONFLICT: 'The change no longer fits the policy in force (the exception it removes has gone); HTTP 409.',
  GH_ERR_CHANGE_NOTHING: 'The change request would change nothing.',
  GH_ERR_POLICY_SEED: 'There is no governed policy yet, and the config file has no groups to seed it from.',
  GH_ERR_POLICY_FILE: 'A policy file (gatehouse policy import) cannot be read or is not valid; nothing was written.',
  GH_ERR_POLICY_CATEGORY: 'The config file lacks a category the governed policy uses: the start (or the reload) is refused.',

  // Alerts and checks
  GH_ERR_ALERT_NOT_FOUND: 'No such alert.',
  GH_ERR_ALERT_STATE: 'The alert cannot make that step from its state (closing a closed alert, …).',
  GH_ERR_ALERT_INPUT: 'The step is missing what it needs (closing without an outcome, a note too long).',
  GH_ERR_CHECK_BUSY: 'A filtering check is already running; wait for it to finish.',

  // Identity
  GH_ERR_IDENTITY_RADIUS: 'The RADIUS accounting server cannot start (unreadable or empty secret file, port in use).',
  GH_ERR_IDENTITY_ROSTER: 'A roster file was refused whole (unreadable, missing columns, cut short, too many removals).',
  GH_ERR_IDENTITY_DEVICE: 'A device could not be saved or imported (no MAC or address, bad value, repeated row).',
  GH_ERR_IDENTITY_NOT_FOUND: 'No such device, person or device token.',
  GH_ERR_IDENTITY_AMBIGUOUS: 'A name several people share, where one person must be named (export, erasure): give #ID.',
  GH_ERR_IDENTITY_ERASE: 'An erasure refused: the person is still on a roster or signed in, or the reason names them.',

  // DNS over HTTPS and over TLS
  GH_ERR_TLS_CERT_MISSING:
    'tls.certFile or tls.keyFile cannot be read: the service does not start (on SIGHUP the certificate in use stays).',
  GH_ERR_TLS_CERT_INVALID:
    'The file holds no PEM certificate, or the key is not the certificate’s: the service does not start (on SIGHUP the one in use stays).',
  GH_ERR_TLS_CERT_EXPIRED:
    'The DoH/DoT certificate has expired or is not valid yet: the service does not start (on SIGHUP the one in use stays).',

  // Reports
  GH_ERR_REPORT_PERIOD: 'A report period is not valid: a date not in YYYY-MM-DD, an end before the start, or more than 366 days.',
  GH_ERR_REPORT_SENT: 'That scheduled report (report and scheduled time) was already recorded as sent; nothing was queued again.',
  GH_ERR_REPORT_FAILED: 'The report thread could not make a report (the message says why); nothing was sent.',

  // The admin API
  GH_ERR_VALIDATION: "An admin API request body or query does not match the route's schema (HTTP 400).",
} as const;

/** Every error code Gatehouse uses. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether `code` is one of ours (the CLI then prints it beside the message, for the docs and the log). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
