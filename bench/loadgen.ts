// A small load generator: sends queries at a fixed rate for a fixed time and
// reports latency percentiles. Sends in small bursts every millisecond so the
// rate holds without a timer per query; stops by itself.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface LatencyResult {
  sent: number;
  answered: number;
  p50Ms: number;
  p99Ms: number;
}

export async function measureLatency(opts: {
  port: number;
  names: string[];
  rate: number;
  seconds: number;
  host?: string;
}): Promise<LatencyResult> {
  const host = opts.host ?? '127.0.0.1';
  const packets = opts.names.map((name, i) =>
    dnsPacket.encode({ type: 'query', id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }),
  );
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  socket.setRecvBufferSize(8 * 1024 * 1024);
  const sentAt = new Float64Array(65536);
  const latencies: number[] = [];
  socket.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    const t = sentAt[id];
    if (t > 0) {
      latencies.push(performance.now() - t);
      sentAt[id] = 0;
    }
  });
  let sent = 0;
  const total = opts.rate * opts.seconds;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * opts.rate));
      while (sent < due) {
        const id = sent & 0xffff;
        const packet = Buffer.from(packets[sent % packets.length]);
        packet.writeUInt16BE(id, 0);
        sentAt[id] = performance.now();
        socket.send(packet, opts.port, host);
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 500)); // stragglers
  socket.close();
  return latencyResult(sent, latencies);
}

/** p50 and p99 of the answers' latencies (ms); sorts `latencies`. */
export function latencyResult(sent: number, latencies: number[]): LatencyResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] : NaN);
  return { sent, answered: latencies.length, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}
