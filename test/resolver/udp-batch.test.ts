// The batch addon's life cycle: closing from inside a batch, answers given
// after close, a handler that throws, a worker thread that ends with a
// listener open, and `dns.listen` changed by a reload.
import dgram from 'node:dgram';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { batchAddon, listenUdpBatch } from '../../src/resolver/udp-batch.js';
import { listenUdp, type Reply, type UdpListener } from '../../src/resolver/udp-socket.js';
import { buildQuery, exchange } from '../helpers/client.js';
import { baseConfig, startGatehouse } from '../helpers/gatehouse.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { parseConfig } from '../../src/config.js';

const addon = batchAddon();
const repo = resolve(import.meta.dirname, '../..');

/** Send `count` queries at once from one socket; resolves with the socket, which collects replies. */
async function burst(port: number, count: number): Promise<{ replies: Buffer[]; close: () => void }> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const replies: Buffer[] = [];
  s.on('message', (m) => replies.push(m));
  for (let i = 0; i < count; i++) s.send(buildQuery(`n${i}.test`, 'A', { id: i + 1 }), port, '127.0.0.1');
  return { replies, close: () => s.close() };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!addon)('the UDP batch addon', () => {
  let listener: UdpListener | undefined;
  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  it('close() from inside a batch stops it there; an answer given after close is dropped without an error', async () => {
    let calls = 0;
    let late: Reply | undefined;
    listener = listenUdpBatch(addon!, '127.0.0.1', 0, (packet, _address, _port, reply) => {
      calls++;
      late = reply;
      void listener!.close();
    });
    const client = await burst(listener.address().port, 20);
    await expect.poll(() => calls).toBeGreaterThan(0);
    await wait(200);
    expect(calls).toBe(1);
    expect(() => late!(Buffer.from('late answer'))).not.toThrow();
    await wait(50);
    expect(client.replies).toEqual([]);
    client.close();
  });

  it('a handler that throws loses its own packet only: the error is reported and the rest are answered', async () => {
    const saved = process.env.GATEHOUSE_UDP;
    process.env.GATEHOUSE_UDP = 'batch';
    const errors: unknown[] = [];
    try {
      listener = await listenUdp(
        '127.0.0.1',
        0,
        (packet, _a, _p, reply) => {
          if (packet.readUInt16BE(0) === 1) throw new Error('handler broke');
          reply(packet);
        },
        (err) => errors.push(err),
      );
    } finally {
      if (saved === undefined) delete process.env.GATEHOUSE_UDP;
      else process.env.GATEHOUSE_UDP = saved;
    }
    expect(listener.mode).toBe('batch');
    const client = await burst(listener.address().port, 5);
    await expect.poll(() => client.replies.length).toBe(4);
    expect(errors.map((e) => (e as Error).message)).toEqual(['handler broke']);
    expect(client.replies.map((r) => r.readUInt16BE(0)).sort()).toEqual([2, 3, 4, 5]);
    client.close();
  });

  it.each(['terminate()', 'process.exit() inside the batch callback', 'an uncaught throw'])(
    'a worker thread that ends by %s with a listener open does not take the process down',
    (how) => {
      // In a child process, so a crash there fails this test instead of killing the runner.
      const worker = [
        `const addon = require(${JSON.stringify(join(repo, 'build/Release/udp_batch.node'))});`,
        `const { parentPort } = require('node:worker_threads');`,
        `const [, , port] = addon.listen('127.0.0.1', 0, () => { ${how === 'terminate()' ? '' : how.startsWith('process') ? 'process.exit(0);' : "throw new Error('boom');"} });`,
        `parentPort.postMessage(port);`,
        `setInterval(() => {}, 1000);`,
      ].join('\n');
      const main = [
        `const { Worker } = require('node:worker_threads');`,
        `const dgram = require('node:dgram');`,
        `const w = new Worker(${JSON.stringify(worker)}, { eval: true });`,
        `w.on('error', () => {});`,
        `w.on('message', (port) => {`,
        `  ${how === 'terminate()' ? 'w.terminate();' : "const s = dgram.createSocket('udp4'); s.send(Buffer.alloc(12), port, '127.0.0.1', () => s.close());"}`,
        `});`,
        `w.on('exit', () => setTimeout(() => { console.log('survived'); process.exit(0); }, 100));`,
      ].join('\n');
      const r = spawnSync(process.execPath, ['-e', main], { encoding: 'utf8', timeout: 15_000 });
      expect({ status: r.status, signal: r.signal, out: r.stdout.trim() }).toEqual({ status: 0, signal: null, out: 'survived' });
    },
  );

  it('a reload that changes dns.listen opens the new address and closes the old one', async () => {
    const up = await startFakeUpstream({ 'www.school.test': '192.0.2.3' });
    const gh = await startGatehouse(baseConfig([{ name: 'p', upstreams: [up.url] }]));
    try {
      expect(gh.app.server.udpModes()).toEqual(['batch']);
      const old = gh.port;
      // Another address, on port 0: the new listener's port is read back from the server.
      await gh.app.reload(
        parseConfig(
          baseConfig([{ name: 'p', upstreams: [up.url] }]).replace('["127.0.0.1:0"]', '["127.0.0.2:0"]') +
            `\nstore: { path: ${gh.config.store.path} }`,
          join(repo, 'x.yaml'),
        ),
      );
      expect(gh.app.server.addresses().udp.map((a) => a.address)).toEqual(['127.0.0.2']);
      const next = gh.app.server.addresses().udp[0].port;
      const answer = await exchange(next, buildQuery('www.school.test'), { server: '127.0.0.2' });
      expect(answer.readUInt16BE(6)).toBe(1); // one answer record
      await expect(exchange(old, buildQuery('www.school.test'), { timeoutMs: 300 })).rejects.toThrow(/timeout/);
    } finally {
      await gh.stop();
      await up.stop();
    }
  });
});
