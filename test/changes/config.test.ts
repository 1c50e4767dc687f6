// The changeControl part of the config file, and `groups` once it has seeded
// the governed policy: defaults, recipients that need a configured channel
// (errors name the key and the line), a file without groups, and groups that
// are still checked when the file has them (check-config).
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';

const base = 'links: [{ name: p, upstreams: ["udp://127.0.0.1:53"] }]\n';

function problems(text: string): string[] {
  try {
    parseConfig(text, 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path} (line ${p.line}): ${p.message}`);
    throw err;
  }
  return [];
}

describe('changeControl', () => {
  it('has safe defaults', () => {
    const c = parseConfig(base + 'groups: [{ name: all, default: true }]', 'test.yaml');
    expect(c.changeControl).toEqual({
      emergencyAdmins: [],
      emergencyReviewHours: 72,
      maxSwitchOffHours: 24,
      notify: { approvers: { email: [], webhook: false }, categoryChanges: { email: [], webhook: false } },
    });
    expect(c.admin.mfaRoles).toEqual(['admin', 'dsl', 'approver']);
  });

  it('refuses recipients on a channel that is not configured, naming the key and the line', () => {
    expect(
      problems(
        base +
          'groups: [{ name: all, default: true }]\nchangeControl:\n  notify:\n    approvers: { email: [head@school.example], webhook: true }\n',
      ),
    ).toEqual([
      'changeControl.notify.approvers.email (line 5): e-mail needs alerts.channels.email (its server sends these)',
      'changeControl.notify.approvers.webhook (line 5): alerts.channels.webhook is not configured',
    ]);
    expect(problems(base + 'changeControl: { emergencyReviewHours: 0, notify: { dsl: { email: [not-an-address] } } }')).toEqual([
      'changeControl.emergencyReviewHours (line 2): Too small: expected number to be >=1',
      'changeControl.notify.dsl.email[0] (line 2): expected an e-mail address',
    ]);
  });

  it('takes a file without groups (the governed policy has them), and still checks groups a file has', () => {
    const c = parseConfig(base + 'alerts: { rules: [{ group: pupils, severity: high }] }', 'test.yaml');
    expect(c.groups).toEqual([]);
    expect(problems(base + 'groups: [{ name: a }, { name: a }]')).toEqual([
      'groups[1].name (line 2): duplicate group name "a"',
      'groups (line 2): exactly one group must have "default: true" (found 0)',
    ]);
  });
});
