// Errors from the identity sources and stores carry a code, so callers (start-up, CLI) match on `code`.

export type IdentityErrorCode =
  /** The RADIUS accounting server cannot start (unreadable secret file, port in use). */
  | 'GH_ERR_IDENTITY_RADIUS'
  /** A roster file was refused whole (unreadable, missing columns, cut short, too many removals). */
  | 'GH_ERR_IDENTITY_ROSTER'
  /** A device could not be saved (no MAC or address, bad value). */
  | 'GH_ERR_IDENTITY_DEVICE'
  /** No such device or person. */
  | 'GH_ERR_IDENTITY_NOT_FOUND'
  /** A name that several people share (erase and export need exactly one). */
  | 'GH_ERR_IDENTITY_AMBIGUOUS'
  /** An erasure that must not happen now (the person is still on the roster or signed in). */
  | 'GH_ERR_IDENTITY_ERASE';

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
