// The alerts config: defaults, strictness and the checks between its parts.
import { describe, expect, it } from 'vitest';
import { alertsSchema, checkAlertsConfig, digestChannels, operationalChannels, routeFor } from '../../src/alerts/config.js';

const email = { host: 'smtp.school.example', from: 'gatehouse@school.example', to: ['dsl@school.example'] };
const issues = (input: unknown) => {
  const r = alertsSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('alerts config', () => {
  it('has working defaults', () => {
    const c = alertsSchema.parse({});
    expect(c).toMatchObject({
      enabled: true,
      channels: {},
      throttle: { windowMinutes: 60 },
      threshold: { count: 1, withinMinutes: 10 },
      digest: { severities: ['low'], schedule: '0 7 * * *', timezone: 'Europe/London' },
      delivery: { flushMs: 250, retryBaseMs: 2000, retryMaxMs: 300_000 },
    });
  });

  it('fills channel defaults', () => {
    const c = alertsSchema.parse({ channels: { email, syslog: { host: '127.0.0.1' } } });
    expect(c.channels.email).toMatchObject({
      port: 587,
      secure: false,
      starttls: true,
      requireTLS: false,
      tls: { rejectUnauthorized: true },
    });
    expect(c.channels.syslog).toMatchObject({ port: 514, protocol: 'udp', facility: 'local0', appName: 'gatehouse' });
  });

  it('routes every severity but the digest ones to every configured channel by default', () => {
    const c = alertsSchema.parse({ channels: { email, webhook: { url: 'https://hooks.example/x' } }, routes: { medium: ['webhook'] } });
    expect(routeFor(c, 'critical')).toEqual(['email', 'webhook']);
    expect(routeFor(c, 'medium')).toEqual(['webhook']);
    expect(routeFor(c, 'low')).toEqual([]);
    expect(digestChannels(c)).toEqual(['email']);
    expect(operationalChannels(c)).toEqual(['email', 'webhook']);
  });

  it.each([
    [{ colour: 'red' }, 'Unrecognized key'],
    [{ routes: { high: ['email'] } }, 'routes.high.0: channel "email" is not configured'],
    [{ channels: { email: { ...email, auth: { user: 'u' } } } }, 'channels.email.auth: give exactly one of password and passwordFile'],
    [
      { channels: { email: { ...email, auth: { user: 'u', password: 'p', passwordFile: 'f' } } } },
      'give exactly one of password and passwordFile',
    ],
    [
      { channels: { email: { ...email, secure: true, requireTLS: true } } },
      'channels.email.requireTLS: secure (implicit TLS) and requireTLS',
    ],
    [{ channels: { webhook: { url: 'ftp://x' } } }, 'channels.webhook.url: expected an http:// or https:// URL'],
    [{ channels: { webhook: { url: 'https://x', secret: 'short' } } }, 'channels.webhook.secret: use at least 16 characters'],
    [{ channels: { syslog: { host: 'siem', protocol: 'sctp' } } }, 'channels.syslog.protocol'],
    [{ digest: { schedule: 'every morning' } }, 'digest.schedule: not a valid cron expression'],
    [{ rules: [{ severity: 'high' }] }, 'a rule needs a group, a category or both'],
    [{ rules: [{ group: 'pupils' }] }, 'a rule needs a severity, a threshold or both'],
    [{ threshold: { count: 0, withinMinutes: 5 } }, 'threshold.count'],
    [{ delivery: { retryBaseMs: 5000, retryMaxMs: 1000 } }, 'delivery.retryMaxMs: retryMaxMs must be at least retryBaseMs'],
  ])('rejects %j', (input, message) => {
    expect(issues(input).join('\n')).toContain(message);
  });

  it('checks rule groups, categories and the digest time zone against the rest of the config', () => {
    const c = alertsSchema.parse({
      rules: [
        { group: 'pupils', category: 'adult', severity: 'critical' },
        { group: 'nobody', severity: 'low' },
      ],
      digest: { timezone: 'Mars/Base' },
    });
    const problems = checkAlertsConfig(c, [{ name: 'pupils' }], [{ id: 'self-harm' }]);
    expect(problems).toEqual([
      { at: ['alerts', 'rules', 0, 'category'], message: 'unknown category "adult"' },
      { at: ['alerts', 'rules', 1, 'group'], message: 'unknown group "nobody"' },
      { at: ['alerts', 'digest', 'timezone'], message: 'unknown time zone "Mars/Base"' },
    ]);
  });
});
