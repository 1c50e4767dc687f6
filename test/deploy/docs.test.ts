// The deployment docs link to each other's sections; a renamed heading must not
// leave a technician at a dead link. Checks every relative link and #anchor in
// docs/operations.md, docs/network-setup.md and docs/compliance.md, and that
// the files and commands they name exist.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const docs = ['docs/operations.md', 'docs/network-setup.md', 'docs/compliance.md'];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(join(repo, file), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1])));
}

describe.each(docs)('%s', (file) => {
  const text = readFileSync(join(repo, file), 'utf8');

  it('has only working relative links and anchors', () => {
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
      const [path, anchor] = target.split('#');
      const targetFile = path ? join(dirname(file), path) : file;
      if (!existsSync(join(repo, targetFile))) {
        broken.push(`${target}: no file ${targetFile}`);
        continue;
      }
      if (anchor && targetFile.endsWith('.md') && !anchors(targetFile).has(anchor)) broken.push(`${target}: no heading for #${anchor}`);
    }
    expect(broken).toEqual([]);
  });

  it('names repository files that exist', () => {
    const missing = [...text.matchAll(/`((?:deploy|systemd|config|src|docs)\/[\w./-]+\.(?:sh|conf|service|yaml|ts|md))`/g)]
      .map((m) => m[1])
      .filter((p) => !existsSync(join(repo, p)));
    expect(missing).toEqual([]);
  });
});
