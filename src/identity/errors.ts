// Errors from the identity sources and stores carry a code, so callers (start-up, CLI) match on `code`.

export type IdentityErrorCode =
  /** The RADIUS accounting server cannot start (unreadable secret file, port in use). */
  | 'GH_ERR_IDENTITY_RADIUS'
  /** A roster file was refused whole (unreadable, missing columns, cut short, too many removals). */
  | 'GH_ERR_IDENTITY_ROSTER'
  /** A device could not be saved (no MAC or address, bad value). */
  | 'GH_ERR_IDENTITY_DEVICE'
  /** No such device. */
  | 'GH_ERR_IDENTITY_NOT_FOUND';

export class IdentityError extends Error {
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'IdentityError';
  }
}
