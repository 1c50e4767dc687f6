// DNS messages over a byte stream, as RFC 1035 §4.2.2 frames them for TCP and
// RFC 7858 §3.3 keeps for DNS over TLS: each message preceded by its length in
// two bytes. Several queries may be in flight on one connection and their
// answers go back as they complete, in any order (RFC 7766 §6.2.1.1). One
// reader for plain TCP and for TLS, so both treat a stream the same way.
import type net from 'node:net';
import type { TcpConnection } from './tcp-connections.js';

const MAX_MESSAGE = 65_535;

/**
 * Handles one complete message from the stream; `reply` frames and writes its
 * answer. Returns false when the message is dropped without an answer.
 */
export type StreamMessageHandler = (message: Buffer, reply: (answer: Buffer) => void) => boolean;

/**
 * Read length-prefixed messages from `socket` for as long as it is open. The
 * connection's slot (tcp-connections.ts) is told when each query starts and
 * ends, so its idle time counts from the last complete query, not the last byte.
 */
export function serveFramed(socket: net.Socket, conn: TcpConnection, onMessage: StreamMessageHandler, onClose: () => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  let open = true;
  const reply = (answer: Buffer) => {
    conn.queryFinished();
    if (!open) return;
    const framed = Buffer.allocUnsafe(answer.length + 2);
    framed.writeUInt16BE(answer.length, 0);
    answer.copy(framed, 2);
    socket.write(framed);
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    // Answers given while this chunk is read (cache hits, blocks) leave together:
    // one write, and over TLS one record, instead of one each. Later answers are
    // written as they come, after the uncork.
    socket.cork();
    try {
      readMessages();
    } finally {
      socket.uncork();
    }
    if (buffered.length > MAX_MESSAGE + 2) socket.destroy();
  });
  const readMessages = () => {
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) break;
      const message = Buffer.from(buffered.subarray(2, 2 + length));
      buffered = buffered.subarray(2 + length);
      if (length === 0) continue;
      conn.queryStarted();
      if (!onMessage(message, reply)) conn.queryFinished();
    }
  };
  const closed = () => {
    if (!open) return;
    open = false;
    onClose();
  };
  socket.on('close', closed);
  socket.on('error', closed);
}
