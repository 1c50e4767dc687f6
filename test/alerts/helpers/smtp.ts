// Start and stop the SMTP sink process, and read what it received.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ReceivedMail {
  from: string;
  to: string[];
  user: string | null;
  /** The session was upgraded with STARTTLS. */
  secure: boolean;
  raw: string;
  headers: Map<string, string>;
  body: string;
}

export interface SmtpSinkOptions {
  auth?: { user: string; pass: string };
  tls?: { key: string; cert: string };
  /** Start out of service (421 to every connection) until up(). */
  down?: boolean;
}

export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  private onUp: (() => void) | null = null;
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  /** The sink process on a port the kernel picks (read back from its first line). */
  static async start(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
    const { auth, tls } = opts;
    const script = fileURLToPath(new URL('./smtp-sink.mjs', import.meta.url));
    const args = [script, ...(auth ? [auth.user, auth.pass] : [])];
    const env = {
      ...process.env,
      ...(tls ? { SMTP_SINK_KEY: tls.key, SMTP_SINK_CERT: tls.cert } : {}),
      ...(opts.down ? { SMTP_SINK_DOWN: '1' } : {}),
    };
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
    const lines = createInterface({ input: child.stdout! });
    let sink: SmtpSink | undefined;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('smtp sink did not start')), 10_000);
      child.once('exit', (code) => reject(new Error(`smtp sink exited with ${code}`)));
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as { listening?: number; up?: boolean } & Omit<ReceivedMail, 'headers' | 'body'>;
        if (msg.listening !== undefined) {
          clearTimeout(timer);
          sink = new SmtpSink(child, msg.listening);
          resolve(sink);
        } else if (msg.up) sink?.onUp?.();
        else sink?.mails.push({ ...msg, ...parseMail(msg.raw) });
      });
    });
  }

  /** Back in service (a sink started with `down`). */
  up(): Promise<void> {
    return new Promise((resolve) => {
      this.onUp = resolve;
      this.child.kill('SIGUSR2');
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}

/** Headers (unfolded, lower-case names) and the decoded text body of a simple text/plain mail. */
export function parseMail(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), decodeWords(line.slice(i + 1).trim()));
  }
  let body = raw.slice(split + 4);
  const cte = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'quoted-printable') {
    body = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
  } else if (cte === 'base64') body = Buffer.from(body, 'base64').toString('utf8');
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

/** RFC 2047 encoded words (nodemailer encodes non-ASCII subjects). */
function decodeWords(v: string): string {
  return v.replace(/=\?utf-8\?([bq])\?([^?]*)\?=\s*/gi, (_, enc: string, text: string) =>
    enc.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(
          text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, h: string) => String.fromCharCode(parseInt(h, 16))),
          'latin1',
        ).toString('utf8'),
  );
}
