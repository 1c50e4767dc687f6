// A minimal valid config around a set of lists, through the real config parser.
import { parseConfig, type Config } from '../../src/config.js';

export interface TestList {
  id: string;
  category: string;
  source: string;
  format: string;
  maxBytes?: number;
  timeoutMs?: number;
  refresh?: string;
}

export function configWithLists(lists: TestList[], categories = ['adult', 'gambling', 'iwf']): Config {
  const yaml = [
    'links: [{ name: primary, upstreams: ["udp://127.0.0.1:53"] }]',
    'groups: [{ name: everyone, default: true }]',
    'categories:',
    ...categories.map((c) => `  - { id: ${c}, name: "${c}"${c === 'iwf' ? ', illegal: true' : ''} }`),
    lists.length === 0 ? 'lists: []' : 'lists:',
    ...lists.map((l) => `  - ${JSON.stringify({ refresh: '0 0 1 1 *', ...l })}`),
  ].join('\n');
  return parseConfig(yaml, '/tmp/test-config.yaml');
}
