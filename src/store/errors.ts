// Errors from the store carry a code, so callers (start-up, CLI) match on `code`.

export type StoreErrorCode =
  /** The database file cannot be opened, is not a database, or cannot be written. */
  | 'GH_ERR_STORE_OPEN'
  /** The database was written by a newer Gatehouse (user_version above what we know). */
  | 'GH_ERR_STORE_VERSION'
  /** A search filter is invalid (bad time range, unknown action, bad cursor). */
  | 'GH_ERR_STORE_QUERY';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}
