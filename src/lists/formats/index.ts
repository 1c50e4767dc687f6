// The parser for each list format named in the config.
import { parseAdblock } from './adblock.js';
import { parseDomains } from './domains.js';
import { parseHosts } from './hosts.js';
import { parseRpz } from './rpz.js';
import type { ListFormat, ListParser } from './types.js';
import { parseUrls } from './urls.js';

export * from './types.js';

export const PARSERS: Record<ListFormat, ListParser> = {
  domains: parseDomains,
  hosts: parseHosts,
  adblock: parseAdblock,
  wildcard: parseDomains, // the same grammar: `*.name` for subdomains only, `name` for the tree
  rpz: parseRpz,
  urls: parseUrls,
};
