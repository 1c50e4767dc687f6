// Refuses passwords that are common or a trivial variant of a common one, as
// the NCSC's password guidance asks ("deny-list the most common passwords")
// and NIST SP 800-63B §5.1.1.2 does ("values known to be commonly-used").
//
// The list and the variant matching come from zxcvbn (Wheeler, "zxcvbn:
// Low-Budget Password Strength Estimation", USENIX Security 2016), in its
// maintained TypeScript port: @zxcvbn-ts/language-common holds 49,233 passwords
// that occur more than ten times in the 10 million leaked passwords published
// by Mark Burnett (xato.net), ranked by frequency; @zxcvbn-ts/core matches a
// candidate against them with case, l33t (P@ssw0rd), reversal, an edit or two
// (Levenshtein), appended digits and years, and finds repeats (aaaa), sequences
// (abcd, 1234), keyboard walks (qwerty) and dates. Its estimate is the number of
// guesses an attacker who knows these patterns needs.
//
// We refuse fewer than 10^6 guesses: below that, zxcvbn's own scale (scores 0
// and 1) says a throttled online attack succeeds. That is the whole deny-list
// plus its simple variants (Password1, Aaaaaaa1, eight spaces and A1), while a
// rare word with a separator and digits (Temporary-77) passes.
import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';

/** Fewer estimated guesses than this and a password is refused. */
export const MIN_GUESSES = 1e6;

let factory: ZxcvbnFactory | undefined;

/** Built on first use (about 40 ms: it ranks the dictionaries), not at start-up. */
function estimator(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({ dictionary: { ...dictionary }, graphs: adjacencyGraphs, useLevenshteinDistance: true });
  return factory;
}

/** Why a guessable password was refused, from zxcvbn's warning. Never quotes the password. */
function reason(result: ZxcvbnResult): string {
  switch (result.feedback.warning) {
    case 'userInputs':
      return 'choose another: it is too close to your user name or to "gatehouse"';
    case 'simpleRepeat':
    case 'extendedRepeat':
      return 'choose another: it is mostly repeated characters or a repeated pattern';
    case 'sequences':
      return 'choose another: it is mostly a sequence such as abcd or 1234';
    case 'straightRow':
    case 'keyPattern':
      return 'choose another: it is mostly a keyboard pattern such as qwerty';
    case 'dates':
    case 'recentYears':
      return 'choose another: it is mostly a date or a year';
    case 'common':
    case 'similarToCommon':
    case 'topTen':
    case 'topHundred':
      return 'choose another: it is one of the most used passwords, or a small change to one';
    default:
      return 'choose another: it is too easy to guess';
  }
}

/**
 * A problem to show when the password is common or easy to guess, else null.
 * `userName` counts as a word an attacker would try first.
 */
export function guessableProblem(password: string, userName: string): string | null {
  const result = estimator().check(password, [userName, 'gatehouse'].filter(Boolean));
  return result.guesses < MIN_GUESSES ? reason(result) : null;
}
