import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblems, passwordRuleProblems, verifyPassword } from '../../src/admin/passwords.js';

describe('password policy', () => {
  it.each([
    ['Kestrel-Moor4', 'alice', []],
    ['abcdefg1', 'alice', ['include an upper-case letter']],
    ['Abcdefgh', 'alice', ['include a digit']],
    ['Abc1', 'alice', ['use at least 8 characters']],
    ['xxALICE99Zz', 'alice', ['do not include your user name']],
    ['Ünïcødé9', 'bob', []],
    ['', 'bob', ['use at least 8 characters', 'include an upper-case letter', 'include a digit']],
  ])('%j for %s', (password, user, expected) => {
    expect(passwordRuleProblems(password, user)).toEqual(expected);
  });

  // Common passwords and their trivial variants pass the rules above but are refused (NCSC: deny-list them).
  const COMMON = 'choose another: it is one of the most used passwords, or a small change to one';
  const REPEAT = 'choose another: it is mostly repeated characters or a repeated pattern';
  it.each([
    ['Password1', COMMON],
    ['Aaaaaaa1', COMMON],
    ['        A1', REPEAT],
    ['AAAAAAAA1', REPEAT],
    ['P@ssw0rd1', COMMON],
    ['Passwrod1', COMMON],
    ['drowssaP1', COMMON],
    ['Welcome1', COMMON],
    ['Qwerty123', COMMON],
    ['Liverpool1', COMMON],
    ['Summer2024', COMMON],
    ['Abcdefg1', COMMON],
    ['ABCDEFGH1', 'choose another: it is mostly a sequence such as abcd or 1234'],
    ['Gatehouse1', 'choose another: it is too close to your user name or to "gatehouse"'],
  ])('refuses %j as guessable, saying why without quoting it', (password, why) => {
    const problems = passwordRuleProblems(password, 'alice');
    expect(problems).toEqual([why]);
    expect(problems.join(' ')).not.toContain(password.trim());
  });

  it.each(['Kestrel-Moor4', 'Temporary-77', 'Welcome-2026', 'Tr0ub4dor&3', 'correct horse battery staple A1', 'Ünïcødé9', 'Initial-Pass1'])(
    'accepts %j',
    (password) => {
      expect(passwordRuleProblems(password, 'alice')).toEqual([]);
    },
  );

  it('hashes with scrypt, salted, and verifies in constant time', async () => {
    const a = await hashPassword('Secret-Pass1');
    const b = await hashPassword('Secret-Pass1');
    expect(a).toMatch(/^scrypt\$65536\$8\$1\$/);
    expect(a).not.toEqual(b);
    expect(await verifyPassword('Secret-Pass1', a)).toBe(true);
    expect(await verifyPassword('Secret-Pass2', a)).toBe(false);
    expect(await verifyPassword('Secret-Pass1', 'garbage')).toBe(false);
  });

  it('refuses one of the last five passwords', async () => {
    const old = await hashPassword('Older-Pass1');
    expect(await passwordProblems('Older-Pass1', 'carol', [old])).toEqual(['do not reuse one of your last 5 passwords']);
    expect(await passwordProblems('Newer-Pass1', 'carol', [old])).toEqual([]);
  });
});
