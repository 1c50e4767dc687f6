// The `categories:` and `lists:` parts of a test config, with one domains
// list file per category written into `dir` (list id `<category>-list`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCategory {
  name: string;
  /** The names on its list (one domains file). */
  names: string[];
  severity?: 'none' | 'low' | 'medium' | 'high' | 'critical';
  illegal?: boolean;
  keywords?: string[];
}

export function categoriesAndLists(dir: string, categories: Record<string, TestCategory>): string {
  const lines = ['categories:'];
  for (const [id, c] of Object.entries(categories)) {
    const extra = [
      c.illegal ? 'illegal: true' : '',
      c.severity ? `severity: ${c.severity}` : '',
      c.keywords ? `keywords: [${c.keywords.join(', ')}]` : '',
    ]
      .filter(Boolean)
      .map((s) => `, ${s}`)
      .join('');
    lines.push(`  - { id: ${id}, name: ${c.name}${extra} }`);
  }
  lines.push('lists:');
  for (const [id, c] of Object.entries(categories)) {
    writeFileSync(join(dir, `${id}.txt`), c.names.map((n) => `${n}\n`).join(''));
    lines.push(`  - { id: ${id}-list, category: ${id}, source: "file:${join(dir, `${id}.txt`)}", format: domains }`);
  }
  return lines.join('\n');
}
