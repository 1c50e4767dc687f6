// The service's way to make a report: requests go to the report thread
// (worker.ts), which builds and draws it off the event loop; the answer comes
// back as plain data (the PDF and images as bytes).
import type { Worker } from 'node:worker_threads';
import { siblingModule, startWorker } from '../util/worker.js';
import type { ReportInput } from './input.js';
import type { Made, ReportFormat } from './make.js';

export type ReportRequest =
  { type: 'make'; id: number; input: ReportInput; format: ReportFormat; font: string | null; link?: string } | { type: 'close' };
export type ReportReply = { id: number; made: Made; error?: undefined } | { id: number; error: string; made?: undefined };

export class ReportThreadError extends Error {
  readonly code = 'GH_ERR_REPORT_FAILED';
}

export class ReportThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: Made) => void; reject: (e: Error) => void }>();

  constructor(private readonly path: string) {}

  start(): void {
    this.worker = startWorker(siblingModule(import.meta.url, 'worker'), { workerData: { path: this.path } });
    this.worker.on('message', (r: ReportReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (r.error !== undefined) w?.reject(new ReportThreadError(r.error));
      else w?.resolve(revive(r.made));
    });
    this.worker.on('error', (err) => {
      for (const w of this.waiting.values()) w.reject(new ReportThreadError(`the report thread failed: ${err.message}`));
      this.waiting.clear();
      this.worker = undefined;
    });
  }

  make(input: ReportInput, format: ReportFormat, font: string | null, link?: string): Promise<Made> {
    if (!this.worker) this.start();
    const worker = this.worker!;
    const id = this.nextId++;
    return new Promise<Made>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ type: 'make', id, input, format, font, ...(link ? { link } : {}) } satisfies ReportRequest);
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ReportRequest);
    await exited;
  }
}

/** Bytes cross the thread boundary as Uint8Array: make them Buffers again. */
function revive(m: Made): Made {
  if (m.format === 'pdf') return { ...m, pdf: Buffer.from(m.pdf) };
  if (m.format === 'email') return { ...m, pdf: Buffer.from(m.pdf), images: m.images.map((i) => ({ ...i, png: Buffer.from(i.png) })) };
  return m;
}
