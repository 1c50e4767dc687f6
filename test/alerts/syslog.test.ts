// Syslog alerts reach real UDP and TCP listeners and parse as RFC 5424.
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { SyslogSink, parse5424 } from './helpers/syslog.js';
import { TestSite, event } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';
import { SD_ID, truncateUtf8 } from '../../src/alerts/channels/syslog-format.js';

let site: TestSite;
let sink: SyslogSink;
afterEach(async () => {
  await site?.close();
  await sink?.stop();
});

describe.each(['udp', 'tcp'] as const)('syslog over %s', (protocol) => {
  it('sends an RFC 5424 message with the alert in structured data', async () => {
    sink = protocol === 'udp' ? await SyslogSink.udp() : await SyslogSink.tcp();
    site = new TestSite();
    const engine = site.start({
      channels: { syslog: { host: '127.0.0.1', port: sink.port, protocol, facility: 'local3', appName: 'gatehouse-test' } },
    });
    engine.observe(event({ category: 'self-harm', domain: 'harm.example', clientName: 'pc "lab" ]1' }));
    await waitFor(() => sink.lines.length === 1, 10_000, 'the syslog line');
    const m = parse5424(sink.lines[0]);
    expect(m.version).toBe(1);
    expect(m.facility).toBe(19); // local3
    expect(m.severity).toBe(2); // critical → crit
    expect(m.appName).toBe('gatehouse-test');
    expect(m.hostname).toBe(hostname());
    expect(m.procId).toBe(String(process.pid));
    expect(m.msgId).toBe('alert');
    expect(Date.parse(m.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    const sd = m.sd.get(SD_ID)!;
    const id = engine.list().items[0].id;
    expect(Object.fromEntries(sd)).toMatchObject({
      alertId: String(id),
      kind: 'safeguarding',
      severity: 'critical',
      category: 'self-harm',
      client: '10.1.2.3',
      clientName: 'pc "lab" ]1',
      group: 'pupils',
      domain: 'harm.example',
      circumvention: 'false',
      count: '1',
    });
    expect(sd.get('key')).toMatch(/^gh-\d+-/);
    expect(m.msg).toBe('CRITICAL Self-harm and suicide from 10.1.2.3 (pc "lab" ]1) group pupils domain harm.example (x1)');
  });

  it('names the person and the device in structured data and in the message', async () => {
    sink = protocol === 'udp' ? await SyslogSink.udp() : await SyslogSink.tcp();
    site = new TestSite();
    const who = site.identity();
    const engine = site.start({ channels: { syslog: { host: '127.0.0.1', port: sink.port, protocol } } });
    engine.observe(event({ category: 'self-harm', domain: 'harm.example', ...who }));
    await waitFor(() => sink.lines.length === 1, 10_000, 'the syslog line');
    const m = parse5424(sink.lines[0]);
    expect(Object.fromEntries(m.sd.get(SD_ID)!)).toMatchObject({
      client: '10.1.2.3',
      user: 'jsmith',
      person: 'Jo Smith',
      device: 'jo-laptop',
      mac: 'aa:bb:cc:00:00:07',
    });
    expect(m.msg).toBe('CRITICAL Self-harm and suicide from Jo Smith (jsmith) at 10.1.2.3 group pupils domain harm.example (x1)');
  });

  it('sends no domain for an illegal category', async () => {
    sink = protocol === 'udp' ? await SyslogSink.udp() : await SyslogSink.tcp();
    site = new TestSite();
    const engine = site.start({ channels: { syslog: { host: '127.0.0.1', port: sink.port, protocol } } });
    engine.observe(event({ category: 'iwf', domain: 'never-shown.example' }));
    await waitFor(() => sink.lines.length === 1, 10_000, 'the syslog line');
    expect(sink.lines[0]).not.toContain('never-shown');
    const m = parse5424(sink.lines[0]);
    expect(m.sd.get(SD_ID)!.has('domain')).toBe(false);
    expect(m.facility).toBe(16); // local0, the default
  });
});

describe('syslog over tcp', () => {
  it('frames several messages with octet counting and reconnects after the collector restarts', async () => {
    sink = await SyslogSink.tcp();
    const port = sink.port;
    site = new TestSite();
    const engine = site.start({
      channels: { syslog: { host: '127.0.0.1', port, protocol: 'tcp' } },
      delivery: { retryBaseMs: 50, retryMaxMs: 200 },
    });
    engine.observe(event({ client: '10.0.0.1', domain: 'é.example' }));
    engine.observe(event({ client: '10.0.0.2' }));
    await waitFor(() => sink.lines.length === 2, 10_000, 'two lines');
    expect(sink.lines.map((l) => parse5424(l).sd.get(SD_ID)!.get('client')).sort()).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(sink.lines.some((l) => l.includes('é.example'))).toBe(true);
    sink.restart();
    engine.observe(event({ client: '10.0.0.3' }));
    await waitFor(() => sink.lines.length === 1, 10_000, 'the line after the restart');
    expect(parse5424(sink.lines[0]).sd.get(SD_ID)!.get('client')).toBe('10.0.0.3');
  });
});

describe('truncateUtf8', () => {
  it.each([
    ['abc', 5, 'abc'],
    ['abcdef', 3, 'abc'],
    ['aé', 2, 'a'],
    ['aé', 3, 'aé'],
    ['€€', 4, '€'],
  ])('cuts %j to %i bytes', (text, max, want) => {
    expect(truncateUtf8(text, max)).toBe(want);
  });
});
