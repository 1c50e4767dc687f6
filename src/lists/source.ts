// Fetching one list from its source: an http(s) download with conditional GET,
// a size cap and a timeout, or a local file. The result is a candidate file for
// the build worker to parse; nothing here replaces the last good copy.
import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import type { ListConfig } from '../config.js';
import type { CopyMeta, LastGoodStore } from './store.js';

export type FetchOutcome =
  /** A new copy to parse; `meta` is saved with it if it parses. */
  | { kind: 'new'; path: string; meta: Omit<CopyMeta, 'savedAt'>; download: boolean }
  /** The source has not changed since the last good copy. */
  | { kind: 'unchanged' }
  | { kind: 'failed'; error: string };

export async function fetchList(list: ListConfig, store: LastGoodStore): Promise<FetchOutcome> {
  if (list.source.startsWith('file:')) return checkFile(list, store);
  return download(list, store);
}

function checkFile(list: ListConfig, store: LastGoodStore): FetchOutcome {
  const path = list.source.slice('file:'.length);
  let size: number;
  let mtimeMs: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return { kind: 'failed', error: 'source is not a file' };
    size = st.size;
    mtimeMs = st.mtimeMs;
  } catch (err) {
    return { kind: 'failed', error: `cannot read the source file (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  if (size > list.maxBytes) return { kind: 'failed', error: `source file is larger than maxBytes (${size} > ${list.maxBytes})` };
  const meta = store.meta(list.id);
  if (meta && meta.sourceSize === size && meta.sourceMtimeMs === mtimeMs) return { kind: 'unchanged' };
  return { kind: 'new', path, meta: { sourceSize: size, sourceMtimeMs: mtimeMs }, download: false };
}

async function download(list: ListConfig, store: LastGoodStore): Promise<FetchOutcome> {
  if (!transportAllowed(list.source)) {
    return { kind: 'failed', error: 'plain http:// is only accepted from a loopback address; use https://' };
  }
  const headers: Record<string, string> = { 'user-agent': 'gatehouse-lists' };
  const last = store.meta(list.id);
  if (last?.etag) headers['if-none-match'] = last.etag;
  if (last?.lastModified) headers['if-modified-since'] = last.lastModified;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, list.timeoutMs);
  const target = store.downloadPath(list.id);
  try {
    const res = await fetch(list.source, { headers, signal: controller.signal, redirect: 'follow' });
    if (res.status === 304 && last) {
      await res.body?.cancel();
      return { kind: 'unchanged' };
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      return { kind: 'failed', error: `HTTP ${res.status} from the list server` };
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > list.maxBytes) {
      await res.body?.cancel();
      return { kind: 'failed', error: `download is larger than maxBytes (${declared} > ${list.maxBytes})` };
    }
    const out = createWriteStream(target);
    let bytes = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        if (bytes > list.maxBytes) {
          controller.abort();
          throw new SizeError(bytes);
        }
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    const meta: Omit<CopyMeta, 'savedAt'> = {};
    const etag = res.headers.get('etag');
    const modified = res.headers.get('last-modified');
    if (etag) meta.etag = etag;
    if (modified) meta.lastModified = modified;
    return { kind: 'new', path: target, meta, download: true };
  } catch (err) {
    store.discardDownload(list.id);
    if (err instanceof SizeError) return { kind: 'failed', error: `download is larger than maxBytes (over ${list.maxBytes} bytes)` };
    if (timedOut) return { kind: 'failed', error: `download timed out after ${list.timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'failed', error: `download failed: ${cause?.code ?? cause?.message ?? (err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lists decide what pupils can reach, so they travel over TLS; plain http is
 * for tests and local mirrors on this machine only.
 */
function transportAllowed(source: string): boolean {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

class SizeError extends Error {
  constructor(readonly bytes: number) {
    super('size cap exceeded');
  }
}

/** A source as shown in status and logs: no user-info, no query string (it may hold an access key). */
export function displaySource(source: string): string {
  if (source.startsWith('file:')) return source;
  try {
    const url = new URL(source);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}
