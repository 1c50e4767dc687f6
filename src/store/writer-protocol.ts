// Messages between QueryLog (main thread) and writer-worker.ts.
import type { Batch, Dictionaries } from './batch.js';
import type { LinkSwitch, ListRefresh, PurgeResult } from './writer.js';

export type WorkerRequest =
  | { type: 'open'; path: string; maxPages?: number }
  | { type: 'batch'; batch: Batch }
  | { type: 'dict'; dict: Dictionaries }
  | { type: 'switch'; record: LinkSwitch }
  | { type: 'refresh'; record: ListRefresh }
  | { type: 'purge'; id: number; cutoff: number }
  | { type: 'compact'; id: number; beforeDay: number }
  | { type: 'flush'; id: number }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'failed'; message: string; code?: string }
  /** After each batch: rows committed, or rows lost with the error. */
  | { type: 'written'; written: number; lost: number; at: number; error?: string }
  | { type: 'problem'; error: string }
  | { type: 'purged'; id: number; result?: PurgeResult; error?: string }
  | { type: 'compacted'; id: number; days?: number[]; error?: string }
  | { type: 'flushed'; id: number }
  | { type: 'closed' };
