// The first start under change control: the governed policy is seeded from the
// config file's groups and roster group mappings (identity.groups) (change
// #1), then the exceptions an older version kept in its own table move in with
// their record (change #2), and its pending block-page requests become draft
// change requests. All in one transaction, with a change-log row for each, so
// the history starts complete; only the first call seeds.
//
// A database an older version seeded has a policy without the roster group
// mappings (they were read from the file then): the first start of this
// version takes them from the file once, as a change of their own
// (ensureMappings), and from then on the file's are not applied.
import type { Database } from 'better-sqlite3';
import { appendChange, withChange } from '../admin/changelog.js';
import { normaliseDomain } from '../lists/names.js';
import type { Config } from '../config.js';
import type { GroupMapping } from '../identity/config.js';
import { distinctMappings, mappingMatch, mappingWords } from '../identity/groups.js';
import { hasTables } from '../store/db.js';
import { describeChange, describedGroups, sentences, summaryOf } from './describe.js';
import { emptyDocument, governedGroup, illegalIds, type PolicyDocument } from './document.js';
import { ChangeError } from './errors.js';
import { applyOps, type ChangeOp } from './operations.js';
import { currentVersion, insertRequest, mappingsGoverned, writeVersion } from './store.js';

const SEEDER = 'gatehouse (first start under change control)';

interface LegacyException {
  domain: string;
  action: 'allow' | 'deny';
  groups_json: string;
  requester: string;
  subject_area: string;
  reason: string;
  approver: string;
  created_by: string;
  created_at: number;
}

interface LegacyRequest {
  domain: string;
  category: string | null;
  group_name: string | null;
  client_address: string | null;
  requester_name: string | null;
  reason: string | null;
  created_at: number;
}

/** The operations that add the file's mappings to a policy: one per key (a later one of a key never counted), to groups it has. */
function mappingOps(mappings: readonly GroupMapping[], groups: ReadonlySet<string>): { ops: ChangeOp[]; notes: string[] } {
  const { kept, dropped } = distinctMappings(mappings);
  const notes = dropped.map(
    (m) => `identity.groups: ${mappingWords(m)} is given more than once; only the first counted, and only it is kept`,
  );
  const ops: ChangeOp[] = [];
  for (const m of kept) {
    if (!groups.has(m.group)) {
      notes.push(`identity.groups: ${mappingWords(m)} names group "${m.group}", which the governed policy does not have; left out`);
      continue;
    }
    ops.push({ op: 'mapping-set', ...mappingMatch(m), group: m.group });
  }
  return { ops, notes };
}

/** Write one change that is applied as it is made (the seed, the migration). Returns the document after it. */
function appliedChange(
  db: Database,
  config: Config,
  before: PolicyDocument,
  ops: ChangeOp[],
  record: { kind: 'seed' | 'migration'; source: string; requester: string; subjectArea: string; reason: string; approver: string },
  now: number,
  notes: readonly string[] = [],
): PolicyDocument {
  const id = insertRequest(db, {
    kind: record.kind,
    status: 'applied',
    source: record.source,
    ops_json: JSON.stringify(ops),
    summary: '',
    description_json: '[]',
    groups_json: '[]',
    requester: record.requester,
    subject_area: record.subjectArea,
    reason: record.reason,
    risk: 'low',
    backout: 'none: this is where the history starts',
    created_by: SEEDER,
    created_at: now,
    submitted_by: SEEDER,
    submitted_at: now,
    decision: 'approved',
    decided_by: record.approver,
    decided_at: now,
  });
  const ctx = {
    changeId: id,
    requester: record.requester,
    subjectArea: record.subjectArea,
    reason: record.reason,
    approver: record.approver,
    now,
  };
  const applied = applyOps(before, ops, ctx, 'lenient');
  const described = describeChange(before, applied.doc, config.categories);
  const version = writeVersion(db, applied.doc, id, now);
  db.prepare(
    `UPDATE change_requests SET inverse_json = ?, summary = ?, description_json = ?, groups_json = ?, applied_at = ?, applied_by = ?, policy_version = ? WHERE id = ?`,
  ).run(
    JSON.stringify(applied.inverse),
    summaryOf(described),
    JSON.stringify(described),
    JSON.stringify(describedGroups(described)),
    now,
    SEEDER,
    version,
    id,
  );
  appendChange(db, {
    actor: SEEDER,
    entity: 'change',
    entityId: id,
    action: record.kind,
    after: { version, changes: sentences(described), notes: [...notes, ...applied.notes] },
    requester: record.requester,
    reason: record.reason,
    approver: record.approver,
    at: now,
  });
  return applied.doc;
}

/**
 * Seed the governed policy if there is none yet. Returns true when it seeded.
 * Throws GH_ERR_POLICY_SEED when there is nothing to seed from.
 */
export function ensureSeeded(db: Database, config: Config, now: number): boolean {
  if (currentVersion(db)) return false;
  return db
    .transaction(() => {
      if (currentVersion(db)) return false;
      if (config.groups.length === 0)
        throw new ChangeError(
          'GH_ERR_POLICY_SEED',
          'There is no governed policy in the database yet and the config file has no groups to start it from: add `groups` to the config file for the first start.',
        );
      const illegal = illegalIds(config.categories);
      const mappings = mappingOps(config.identity.groups, new Set(config.groups.map((g) => g.name)));
      const seedOps: ChangeOp[] = [
        ...config.groups.map((g): ChangeOp => ({ op: 'group-set', name: g.name, group: governedGroup(g, illegal) })),
        ...mappings.ops,
      ];
      const doc = appliedChange(
        db,
        config,
        emptyDocument(),
        seedOps,
        {
          kind: 'seed',
          source: 'config',
          requester: 'the config file',
          subjectArea: 'the whole filtering policy',
          reason:
            'The filtering policy (groups and roster group mappings) as the config file had it when change control began; from now on it changes only through change requests.',
          approver: 'none: the starting point, taken from the config file',
        },
        now,
        mappings.notes,
      );
      migrateLegacy(db, config, doc, now);
      return true;
    })
    .immediate();
}

/**
 * Take the config file's roster group mappings (identity.groups) into a policy
 * an older version seeded without them: once, as an applied change of their
 * own, keeping everything else the policy says. A file without mappings still
 * marks the policy as holding them (none), so mappings added to the file later
 * are not taken. Returns the change, or undefined when there was nothing to do.
 */
export function ensureMappings(
  db: Database,
  config: Config,
  now: number,
): { changeId: number; mappings: number; notes: string[] } | undefined {
  if (mappingsGoverned(db) !== false) return undefined;
  return db
    .transaction(() => {
      if (mappingsGoverned(db) !== false) return undefined;
      const before = currentVersion(db)!;
      const { ops, notes } = mappingOps(config.identity.groups, new Set(before.doc.groups.map((g) => g.name)));
      const doc = appliedChange(
        db,
        config,
        before.doc,
        ops,
        {
          kind: 'migration',
          source: 'config',
          requester: 'the config file (identity.groups)',
          subjectArea: 'roster group mappings',
          reason:
            (ops.length > 0
              ? `The ${ops.length} roster group mapping(s) the config file's identity.groups had when they came under change control`
              : 'Roster group mappings came under change control; the config file had none') +
            '; from now on they change only through change requests, and the file’s identity.groups are not applied.',
          approver: 'none: the starting point, taken from the config file',
        },
        now,
        notes,
      );
      return { changeId: currentVersion(db)!.changeId, mappings: doc.identityGroups.length, notes };
    })
    .immediate();
}

/** Exceptions and pending requests from the tables of an older version (renamed by migration 11). */
function migrateLegacy(db: Database, config: Config, seeded: PolicyDocument, now: number): void {
  let doc = seeded;
  const groups = new Set(doc.groups.map((g) => g.name));
  const illegal = illegalIds(config.categories);
  if (hasTables(db, 'exceptions_before_change_control')) {
    const rows = db.prepare('SELECT * FROM exceptions_before_change_control ORDER BY id').all() as LegacyException[];
    const ops: ChangeOp[] = [];
    for (const r of rows) {
      const known = (JSON.parse(r.groups_json) as string[]).filter((g) => groups.has(g));
      const domain = normaliseDomain(r.domain);
      if (known.length === 0 || !domain) continue;
      const id = ops.length + 1;
      ops.push({
        op: 'exception-add',
        domain,
        action: r.action,
        groups: known,
        restore: {
          id,
          domain,
          action: r.action,
          groups: known,
          requester: r.requester,
          subjectArea: r.subject_area,
          reason: r.reason,
          approver: r.approver,
          changeId: 0,
          createdAt: r.created_at,
        },
      });
    }
    if (ops.length > 0) {
      // The migration change's id is the next one; the exceptions carry it.
      const nextId = ((db.prepare('SELECT max(id) FROM change_requests').pluck().get() as number | null) ?? 0) + 1;
      for (const o of ops) if (o.op === 'exception-add' && o.restore) o.restore.changeId = nextId;
      doc = appliedChange(
        db,
        config,
        doc,
        ops,
        {
          kind: 'migration',
          source: 'migration',
          requester: 'the exceptions table of the previous version',
          subjectArea: 'exceptions',
          reason: `${ops.length} exception(s) made before change control, each with its own requester, subject area, reason and approver as recorded then.`,
          approver: 'as recorded with each exception',
        },
        now,
      );
    }
  }
  if (hasTables(db, 'exception_requests_before_change_control')) {
    const fallback = doc.groups.find((g) => g.default)?.name ?? doc.groups[0].name;
    const pending = db
      .prepare("SELECT * FROM exception_requests_before_change_control WHERE status = 'pending' ORDER BY id")
      .all() as LegacyRequest[];
    for (const r of pending) {
      const domain = normaliseDomain(r.domain);
      // A request that hit an illegal category is never shown, and never becomes a change.
      if (!domain || (r.category && illegal.has(r.category))) continue;
      const group = r.group_name && groups.has(r.group_name) ? r.group_name : fallback;
      const ops: ChangeOp[] = [{ op: 'exception-add', domain, action: 'allow', groups: [group] }];
      withChange(
        db,
        (id: number) => ({
          actor: SEEDER,
          entity: 'change',
          entityId: id,
          action: 'create',
          after: { summary: `Allow ${domain} for ${group}`, from: 'a block-page request made before change control' },
          requester: r.requester_name,
          reason: r.reason,
          at: now,
        }),
        () =>
          insertRequest(db, {
            kind: 'change',
            status: 'draft',
            source: 'block-page',
            ops_json: JSON.stringify(ops),
            summary: `${group}: Exception for ${domain}: no exception → allowed (with its subdomains)`,
            description_json: JSON.stringify([
              {
                target: group,
                groups: [group],
                aspects: [{ aspect: `Exception for ${domain}`, before: 'no exception', after: 'allowed (with its subdomains)' }],
              },
            ]),
            groups_json: JSON.stringify([group]),
            requester: r.requester_name,
            reason: r.reason,
            created_by: 'block page',
            created_at: r.created_at,
            client_address: r.client_address,
            category: r.category,
          }),
      );
    }
  }
}
