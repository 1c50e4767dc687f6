import { describe, expect, it } from 'vitest';
import { hashPassword, passwordProblems, passwordRuleProblems, verifyPassword } from '../../src/admin/passwords.js';

describe('password policy', () => {
  it.each([
    ['Abcdefg1', 'alice', []],
    ['abcdefg1', 'alice', ['include an upper-case letter']],
    ['Abcdefgh', 'alice', ['include a digit']],
    ['Abc1', 'alice', ['use at least 8 characters']],
    ['xxALICE99Zz', 'alice', ['do not include your user name']],
    ['Ünïcødé9', 'bob', []],
    ['', 'bob', ['use at least 8 characters', 'include an upper-case letter', 'include a digit']],
  ])('%j for %s', (password, user, expected) => {
    expect(passwordRuleProblems(password, user)).toEqual(expected);
  });

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
