// A real HTTP server that records webhook POSTs; it can answer with an error
// status to play a failing receiver.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPost {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export class WebhookSink {
  readonly posts: ReceivedPost[] = [];
  status = 200;
  /** Record POSTs but never answer them (the sender is killed meanwhile). */
  hold = false;
  onPost: ((p: ReceivedPost) => void) | null = null;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** On a port the kernel picks; `status` starts as the answer to every POST. */
  static async start(status = 200): Promise<WebhookSink> {
    // eslint-disable-next-line prefer-const -- the request handler needs it before it is made
    let sink: WebhookSink | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const post = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        if (sink!.status < 300) sink!.posts.push(post);
        sink!.onPost?.(post);
        if (!sink!.hold) res.writeHead(sink!.status).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    sink = new WebhookSink(server, (server.address() as AddressInfo).port);
    sink.status = status;
    return sink;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
