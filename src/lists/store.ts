// The last good copy of each list, on disk under `<dataDir>/lists/`:
//   <id>            the list as last accepted (used when a refresh fails, and at start-up)
//   <id>.meta.json  ETag / Last-Modified of that copy, or the source file's size and mtime
//   <id>.download   a download in progress or awaiting its parse
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CopyMeta {
  etag?: string;
  lastModified?: string;
  /** For file: sources, what the source looked like when copied. */
  sourceSize?: number;
  sourceMtimeMs?: number;
  savedAt: string;
}

export class LastGoodStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'lists');
    mkdirSync(this.dir, { recursive: true });
  }

  path(id: string): string {
    return join(this.dir, id);
  }

  downloadPath(id: string): string {
    return join(this.dir, `${id}.download`);
  }

  has(id: string): boolean {
    try {
      return statSync(this.path(id)).isFile();
    } catch {
      return false;
    }
  }

  meta(id: string): CopyMeta | null {
    if (!this.has(id)) return null;
    try {
      return JSON.parse(readFileSync(join(this.dir, `${id}.meta.json`), 'utf8')) as CopyMeta;
    } catch {
      return null;
    }
  }

  /** Make a parsed download the last good copy. */
  promoteDownload(id: string, meta: Omit<CopyMeta, 'savedAt'>): void {
    renameSync(this.downloadPath(id), this.path(id));
    this.writeMeta(id, meta);
  }

  /** Keep a copy of a file: source that parsed, in case the file is later broken or removed. */
  async copyFrom(id: string, source: string, meta: Omit<CopyMeta, 'savedAt'>): Promise<void> {
    // Asynchronous: a list file may be a hundred megabytes, and DNS is served on this thread.
    const tmp = `${this.path(id)}.tmp`;
    await copyFile(source, tmp);
    renameSync(tmp, this.path(id));
    this.writeMeta(id, meta);
  }

  discardDownload(id: string): void {
    rmSync(this.downloadPath(id), { force: true });
  }

  private writeMeta(id: string, meta: Omit<CopyMeta, 'savedAt'>): void {
    const file = join(this.dir, `${id}.meta.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...meta, savedAt: new Date().toISOString() }));
    renameSync(`${file}.tmp`, file);
  }
}
