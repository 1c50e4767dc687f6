// DNS over UDP to one upstream. Queries go out from a small pool of sockets
// that are replaced after a number of uses, so source ports keep changing
// (with random IDs, this is the defence against spoofed answers) without the
// cost of a socket per query. A truncated answer is retried over TCP.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { StreamUpstream } from './upstream-stream.js';
import { buildQuery, matchesQuery, randomId, UpstreamError, type Pending, type Upstream } from './upstream.js';

const POOL_SIZE = 4;
const USES_PER_SOCKET = 1000;

interface Slot {
  socket: dgram.Socket;
  pending: Map<number, Pending>;
  uses: number;
  retired: boolean;
}

export class UdpUpstream implements Upstream {
  private readonly slots: Slot[] = [];
  private next = 0;
  private tcp: StreamUpstream | undefined;
  private closed = false;

  constructor(
    readonly url: string,
    private readonly host: string,
    private readonly port: number,
    private readonly sourceAddress?: string,
  ) {}

  query(question: Buffer, dnssecOk: boolean, checkingDisabled: boolean, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new UpstreamError('GH_ERR_UPSTREAM_CLOSED', `${this.url} is closed`));
    const slot = this.pickSlot();
    let id = randomId();
    while (slot.pending.has(id)) id = randomId();
    const packet = buildQuery(id, question, dnssecOk, checkingDisabled);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        this.maybeCloseRetired(slot);
        reject(new UpstreamError('GH_ERR_UPSTREAM_TIMEOUT', `${this.url} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      slot.pending.set(id, {
        question,
        timer,
        reject,
        resolve: (answer) => {
          if ((answer[2] & 0x02) === 0) return resolve(answer);
          // Truncated: ask again over TCP, within what is left of nothing more than the same timeout.
          this.tcpUpstream().query(question, dnssecOk, checkingDisabled, timeoutMs).then(resolve, reject);
        },
      });
      slot.socket.send(packet, this.port, this.host, (err) => {
        if (!err) return;
        const p = slot.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        slot.pending.delete(id);
        reject(new UpstreamError('GH_ERR_UPSTREAM_NETWORK', `${this.url}: ${err.message}`));
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const slot of this.slots) this.closeSlot(slot, new UpstreamError('GH_ERR_UPSTREAM_CLOSED', `${this.url} closed`));
    this.slots.length = 0;
    this.tcp?.close();
  }

  private tcpUpstream(): StreamUpstream {
    this.tcp ??= new StreamUpstream(this.url.replace(/^udp:/, 'tcp:'), this.host, this.port, undefined, this.sourceAddress);
    return this.tcp;
  }

  private pickSlot(): Slot {
    const index = this.next;
    this.next = (this.next + 1) % POOL_SIZE;
    let slot = this.slots[index];
    // A retired socket (used up, or one that reported an error) takes no new
    // queries: it is closed once its last answer is in, and a send on it then would throw.
    if (!slot || slot.retired || slot.uses >= USES_PER_SOCKET) {
      if (slot) {
        slot.retired = true;
        this.maybeCloseRetired(slot);
      }
      slot = this.openSlot();
      this.slots[index] = slot;
    }
    slot.uses++;
    return slot;
  }

  private openSlot(): Slot {
    const socket = dgram.createSocket(isIPv6(this.host) ? 'udp6' : 'udp4');
    const slot: Slot = { socket, pending: new Map(), uses: 0, retired: false };
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== this.port || rinfo.address !== this.host) return;
      if (msg.length < 2) return;
      const p = slot.pending.get(msg.readUInt16BE(0));
      // Answers whose ID or question do not match are dropped; the real one may still come.
      if (!p || !matchesQuery(msg, msg.readUInt16BE(0), p.question)) return;
      clearTimeout(p.timer);
      slot.pending.delete(msg.readUInt16BE(0));
      p.resolve(msg);
      this.maybeCloseRetired(slot);
    });
    socket.on('error', () => {
      // A send error is reported to its query; a socket error retires the socket.
      slot.retired = true;
      this.maybeCloseRetired(slot);
    });
    // Port 0: the kernel picks a random ephemeral port.
    socket.bind({ port: 0, address: this.sourceAddress, exclusive: true });
    socket.unref();
    return slot;
  }

  private maybeCloseRetired(slot: Slot): void {
    if (slot.retired && slot.pending.size === 0) this.closeSlot(slot);
  }

  private closeSlot(slot: Slot, err?: Error): void {
    for (const p of slot.pending.values()) {
      clearTimeout(p.timer);
      if (err) p.reject(err);
    }
    slot.pending.clear();
    try {
      slot.socket.close();
    } catch {
      /* already closed */
    }
  }
}
