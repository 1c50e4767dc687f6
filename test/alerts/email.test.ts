// Email alerts reach a real SMTP server process (smtp-server), with the
// headers and text a DSL needs, and never the domain of an illegal category.
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpSink } from './helpers/smtp.js';
import { TestSite, event } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';

let site: TestSite;
let smtp: SmtpSink;
afterEach(async () => {
  await site?.close();
  await smtp?.stop();
});

function emailConfig(port: number, extra: Record<string, unknown> = {}) {
  return {
    channels: {
      email: {
        host: '127.0.0.1',
        port,
        starttls: false,
        from: 'Gatehouse <gatehouse@school.example>',
        to: ['dsl@school.example', 'deputy@school.example'],
        ...extra,
      },
    },
  };
}

describe('email channel', () => {
  it('delivers an alert with its details and identifying headers', async () => {
    smtp = await SmtpSink.start({ auth: { user: 'alerts', pass: 'S3cret-pass' } });
    site = new TestSite();
    const engine = site.start(emailConfig(smtp.port, { auth: { user: 'alerts', password: 'S3cret-pass' } }));
    engine.observe(event({ category: 'self-harm', domain: 'harm.example', client: '10.1.2.3', clientName: 'pupil-laptop-7' }));
    await waitFor(() => smtp.mails.length === 1, 10_000, 'the email');
    const mail = smtp.mails[0];
    expect(mail.user).toBe('alerts');
    expect(mail.from).toBe('gatehouse@school.example');
    expect(mail.to).toEqual(['dsl@school.example', 'deputy@school.example']);
    expect(mail.headers.get('subject')).toBe('[Gatehouse] CRITICAL: Self-harm and suicide from 10.1.2.3 (pupil-laptop-7)');
    expect(mail.headers.get('message-id')).toMatch(/^<gh-\d+-[0-9a-z]+@school\.example>$/);
    expect(mail.headers.get('x-gatehouse-severity')).toBe('critical');
    expect(mail.headers.get('x-gatehouse-kind')).toBe('alert');
    const id = engine.list().items[0].id;
    expect(mail.headers.get('x-gatehouse-alert-ids')).toBe(String(id));
    expect(mail.body).toContain('Domain:    harm.example');
    expect(mail.body).toContain('Group:     pupils');
    expect(mail.body).toContain(`Alert id:  ${id}`);
    // The attempt is on record.
    await waitFor(() => engine.get(id)!.deliveries.length === 1, 5000, 'the delivery record');
    expect(engine.get(id)!.deliveries[0]).toMatchObject({ channel: 'email', ok: true, error: null });
  });

  it('names the person and the device as they are when the message is sent (an erased person is gone)', async () => {
    smtp = await SmtpSink.start();
    site = new TestSite();
    const engine = site.start(emailConfig(smtp.port));
    const who = site.identity();
    engine.observe(event({ category: 'self-harm', domain: 'harm.example', ...who }));
    await waitFor(() => smtp.mails.length === 1, 10_000, 'the email');
    expect(smtp.mails[0].headers.get('subject')).toBe('[Gatehouse] CRITICAL: Self-harm and suicide from Jo Smith (jsmith) at 10.1.2.3');
    expect(smtp.mails[0].body).toContain('Person:    Jo Smith (jsmith)');
    expect(smtp.mails[0].body).toContain('Device:    jo-laptop (aa:bb:cc:00:00:07)');
    expect(engine.list().items[0]).toMatchObject(who);
    // The person is removed (identity erase): a later message has the device only.
    site.db.prepare('DELETE FROM identity_people WHERE id = ?').run(who.personId);
    engine.observe(event({ category: 'adult', domain: 'porn.example', ...who }));
    await waitFor(() => smtp.mails.length === 2, 10_000, 'the second email');
    expect(smtp.mails[1].raw).not.toContain('jsmith');
    expect(smtp.mails[1].raw).not.toContain('Jo Smith');
    expect(smtp.mails[1].body).toContain('Person:    not known');
    expect(smtp.mails[1].headers.get('subject')).toBe('[Gatehouse] HIGH: Pornography from jo-laptop (aa:bb:cc:00:00:07) at 10.1.2.3');
  });

  it('says only the category and the client for an illegal category', async () => {
    smtp = await SmtpSink.start();
    site = new TestSite();
    const engine = site.start(emailConfig(smtp.port));
    engine.observe(event({ category: 'iwf', domain: 'secret-abuse.example' }));
    await waitFor(() => smtp.mails.length === 1, 10_000, 'the email');
    const mail = smtp.mails[0];
    expect(mail.raw).not.toContain('secret-abuse');
    expect(mail.headers.get('subject')).toBe('[Gatehouse] CRITICAL: Child sexual abuse (IWF) from 10.1.2.3');
    expect(mail.body).toContain('Domain:    withheld (illegal content category)');
  });

  it('records a refused login as a failed attempt and keeps the alert queued', async () => {
    smtp = await SmtpSink.start({ auth: { user: 'alerts', pass: 'right' } });
    site = new TestSite();
    const engine = site.start({
      ...emailConfig(smtp.port, { auth: { user: 'alerts', password: 'wrong-password' } }),
      delivery: { retryBaseMs: 60_000, retryMaxMs: 60_000 },
    });
    engine.observe(event());
    const id = await (async () => {
      await waitFor(() => engine.list().total === 1, 5000, 'the alert');
      return engine.list().items[0].id;
    })();
    await waitFor(() => engine.get(id)!.deliveries.length === 1, 10_000, 'the failed attempt');
    const attempt = engine.get(id)!.deliveries[0];
    expect(attempt.ok).toBe(false);
    expect(attempt.error).toMatch(/auth/i);
    expect(attempt.error).not.toContain('wrong-password');
    expect(engine.pendingDeliveries()).toBe(1);
    expect(smtp.mails.length).toBe(0);
  });
});
