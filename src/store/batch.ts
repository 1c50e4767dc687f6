// A batch of query-log rows in columns: typed arrays for the numbers (moved to
// the worker without copying), and the names and client addresses each held
// once per batch, the rows pointing at them. Filling one costs no allocation
// per row; a name asked a thousand times in a batch is posted, and interned by
// the writer, once.

export interface Batch {
  n: number;
  ts: Float64Array;
  group: Int32Array;
  qtype: Uint16Array;
  action: Uint8Array;
  category: Int16Array;
  link: Int16Array;
  rcode: Uint16Array;
  latencyUs: Uint32Array;
  cached: Uint8Array;
  /** Index into Dictionaries.reasons, -1 for none. */
  reason: Int8Array;
  /** Index into Dictionaries.lists, -1 for none. */
  list: Int16Array;
  /** 1 for the self-test's own queries (kept apart from people's lookups). */
  check: Uint8Array;
  /** TRANSPORT_CODES: 1 UDP, 2 TCP, 3 DoH, 4 DoT (0: not recorded). */
  transport: Uint8Array;
  /** The client's person and device then (identity_people.id, identity_devices.id; 0 = unknown). */
  person: Int32Array;
  device: Int32Array;
  /** Row i's client address is clients[clientIx[i]], its name names[nameIx[i]]. */
  clientIx: Int32Array;
  nameIx: Int32Array;
  clients: string[];
  names: string[];
  /** Where each of `clients` and `names` is, while the batch is filled (main thread only: sealBatch drops it). */
  index?: { clients: Map<string, number>; names: Map<string, number> };
}

export function newBatch(capacity: number): Batch {
  return {
    n: 0,
    ts: new Float64Array(capacity),
    group: new Int32Array(capacity),
    qtype: new Uint16Array(capacity),
    action: new Uint8Array(capacity),
    category: new Int16Array(capacity),
    link: new Int16Array(capacity),
    rcode: new Uint16Array(capacity),
    latencyUs: new Uint32Array(capacity),
    cached: new Uint8Array(capacity),
    reason: new Int8Array(capacity),
    list: new Int16Array(capacity),
    check: new Uint8Array(capacity),
    transport: new Uint8Array(capacity),
    person: new Int32Array(capacity),
    device: new Int32Array(capacity),
    clientIx: new Int32Array(capacity),
    nameIx: new Int32Array(capacity),
    clients: [],
    names: [],
    index: { clients: new Map(), names: new Map() },
  };
}

/** Ready to post: the look-up maps stay behind (the writer reads clientIx and nameIx). */
export function sealBatch(b: Batch): void {
  b.index = undefined;
}

/** The buffers to list as transferables when posting a batch. */
export function transferables(b: Batch): ArrayBuffer[] {
  return [
    b.ts,
    b.group,
    b.qtype,
    b.action,
    b.category,
    b.link,
    b.rcode,
    b.latencyUs,
    b.cached,
    b.reason,
    b.list,
    b.check,
    b.transport,
    b.person,
    b.device,
    b.clientIx,
    b.nameIx,
  ].map((a) => a.buffer as ArrayBuffer);
}

/** Append one row; the caller checks capacity. */
export function pushRow(
  b: Batch,
  ts: number,
  client: string,
  group: number,
  name: string,
  qtype: number,
  action: number,
  category: number,
  link: number,
  rcode: number,
  latencyUs: number,
  cached: boolean,
  reason = -1,
  list = -1,
  check = false,
  transport = 0,
  person = 0,
  device = 0,
): void {
  const i = b.n++;
  putStrings(b, i, client, name);
  b.ts[i] = ts;
  b.group[i] = group;
  b.qtype[i] = qtype;
  b.action[i] = action;
  b.category[i] = category;
  b.link[i] = link;
  b.rcode[i] = rcode;
  b.latencyUs[i] = latencyUs > 0xffffffff ? 0xffffffff : latencyUs;
  b.cached[i] = cached ? 1 : 0;
  b.reason[i] = reason;
  b.list[i] = list;
  b.check[i] = check ? 1 : 0;
  b.transport[i] = transport;
  b.person[i] = person;
  b.device[i] = device;
}

/** Row i's client address and name, each held once in the batch however many rows share it. */
export function putStrings(b: Batch, i: number, client: string, name: string): void {
  const index = b.index!;
  let at = index.clients.get(client);
  if (at === undefined) index.clients.set(client, (at = b.clients.push(client) - 1));
  b.clientIx[i] = at;
  at = index.names.get(name);
  if (at === undefined) index.names.set(name, (at = b.names.push(name) - 1));
  b.nameIx[i] = at;
}

export const clientOf = (b: Batch, i: number): string => b.clients[b.clientIx[i]];
export const nameOf = (b: Batch, i: number): string => b.names[b.nameIx[i]];

/** How the query log records the transport a query came over (the shape's `transport`). */
export const TRANSPORT_CODES = { udp: 1, tcp: 2, doh: 3, dot: 4 } as const;
export const TRANSPORT_NAMES = ['', 'udp', 'tcp', 'doh', 'dot'] as const;

export interface Dictionaries {
  groups: string[];
  categories: string[];
  links: string[];
  /** List ids (config.lists), for the list that blocked a name. */
  lists?: string[];
  /** Decision reasons (policy.ts), for why a name was decided as it was. */
  reasons?: string[];
  /** Per category (same order): illegal, so its rows' names are hidden before they are queued (query-log.ts). */
  illegal?: boolean[];
}
