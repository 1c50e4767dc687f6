// The ports a child process has bound, read from /proc (Linux). Servers we
// start as programs (nsd, unbound) are told to listen on port 0 and we read
// back what the kernel gave them: never "find a free port, release it, and
// tell the program", which races with everything else on a busy machine.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface BoundPorts {
  /** Bound UDP sockets' local ports. */
  udp: number[];
  /** Of those, the ones not connected to a peer: a server's listeners, not its sockets to an upstream. */
  udpUnconnected: number[];
  /** Listening TCP sockets' local ports. */
  tcp: number[];
}

/**
 * The ports `pid` holds on loopback addresses now (empty lists while it is
 * still starting). Sockets on other addresses, such as a resolver's outgoing
 * ones on 0.0.0.0, are left out.
 */
export function boundPorts(pid: number): BoundPorts {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return { udp: [], udpUnconnected: [], tcp: [] }; // gone, or not started yet
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  return {
    udp: portsOf(['udp', 'udp6'], inodes, null),
    udpUnconnected: portsOf(['udp', 'udp6'], inodes, '07'),
    tcp: portsOf(['tcp', 'tcp6'], inodes, '0A'),
  };
}

/** Local ports of the sockets in `inodes` from /proc/net tables; `state` filters (0A: TCP LISTEN, 07: UDP not connected). */
function portsOf(tables: string[], inodes: Set<string>, state: string | null): number[] {
  const ports: number[] = [];
  for (const table of tables) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || !inodes.has(f[9]) || (state !== null && f[3] !== state)) continue;
      const [address, port] = f[1].split(':');
      if (isLoopback(address)) ports.push(parseInt(port, 16));
    }
  }
  return ports;
}

/** Wait until `pid` has bound what `ready` asks for; throws with `describe()` after `limitMs`. */
export async function waitForPorts(
  pid: number,
  ready: (p: BoundPorts) => boolean,
  describe: () => string,
  limitMs = 10_000,
): Promise<BoundPorts> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const ports = boundPorts(pid);
    if (ready(ports)) return ports;
    if (Date.now() > deadline) throw new Error(`no listening ports after ${limitMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** /proc/net addresses are hex words in host byte order: 127.0.0.1 is 0100007F, ::1 ends in 01000000. */
function isLoopback(hex: string): boolean {
  return hex.length === 8 ? hex.endsWith('7F') : hex === '00000000000000000000000001000000';
}
