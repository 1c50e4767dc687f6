// The errors of change control, each with a code callers match on (the admin
// routes turn them into 400/403/404/409/422; the CLI prints the message).
export type ChangeErrorCode =
  /** Bad input: a field missing, an unknown group, a switch-off without an end. */
  | 'GH_ERR_CHANGE_INVALID'
  /** It would touch illegal content (IWF, CTIRU), which no change can. */
  | 'GH_ERR_CHANGE_ILLEGAL'
  | 'GH_ERR_CHANGE_NOT_FOUND'
  /** The request is not in a state that allows this step (approving an applied change). */
  | 'GH_ERR_CHANGE_STATE'
  /** Four eyes: the person who asked for a change can never approve it. */
  | 'GH_ERR_CHANGE_FOUR_EYES'
  /** Approving needs a session that passed MFA. */
  | 'GH_ERR_CHANGE_MFA'
  /** The account's role may not take this step. */
  | 'GH_ERR_CHANGE_ROLE'
  /** It no longer fits the policy in force (the exception it removes has gone). */
  | 'GH_ERR_CHANGE_CONFLICT'
  /** It would change nothing. */
  | 'GH_ERR_CHANGE_NOTHING'
  /** No governed policy yet, and nothing to seed it from. */
  | 'GH_ERR_POLICY_SEED'
  /** A policy file (import) that cannot be read or is not valid. */
  | 'GH_ERR_POLICY_FILE'
  /** The config file lacks a category the governed policy uses (at start, or in a reload, which is refused). */
  | 'GH_ERR_POLICY_CATEGORY';

export class ChangeError extends Error {
  constructor(
    readonly code: ChangeErrorCode,
    message: string,
    /** Every problem found, for a form to list. */
    readonly problems: string[] = [message],
  ) {
    super(message);
  }
}

/** HTTP status for a change-control error. */
export function changeErrorStatus(code: ChangeErrorCode): 400 | 403 | 404 | 409 | 422 {
  switch (code) {
    case 'GH_ERR_CHANGE_NOT_FOUND':
      return 404;
    case 'GH_ERR_CHANGE_FOUR_EYES':
    case 'GH_ERR_CHANGE_MFA':
    case 'GH_ERR_CHANGE_ROLE':
      return 403;
    case 'GH_ERR_CHANGE_STATE':
    case 'GH_ERR_CHANGE_CONFLICT':
      return 409;
    case 'GH_ERR_CHANGE_ILLEGAL':
      return 422;
    default:
      return 400;
  }
}
