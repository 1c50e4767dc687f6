// `gatehouse identity show ADDRESS`: who and what is at an address now, and
// from which source, read from the service's database (src/identity/show.ts).
// `identity export --user NAME`: everything held about one person, as a ZIP
// (a subject access request, identity/export.ts). `identity erase --user NAME`:
// remove a person who has left (identity/erase.ts), recorded in the change log.
import { userInfo } from 'node:os';
import { openDatabase } from '../store/db.js';
import { latestVersion } from '../store/migrations.js';
import { IdentityError } from '../identity/errors.js';
import { personNamed } from '../identity/person.js';
import { exportPersonToFile } from '../identity/export.js';
import { erasePerson } from '../identity/erase.js';
import { StoreError } from '../store/errors.js';
import { printable } from '../identity/names.js';
import { showAddress, type AddressView } from '../identity/show.js';
import { listRosterImports } from '../identity/roster/import.js';
import type { Config } from '../config.js';
import { mappingsInForce } from '../changes/store.js';
import { CommandError, commandConfig, defineGroup, sayDatabase } from './command.js';

type Values = Parameters<typeof commandConfig>[0];

/** Open the config's database (read-only unless `write`), saying which, and run `work` on it; identity errors are reported. */
async function withDatabase(
  values: Values,
  work: (db: ReturnType<typeof openDatabase>, config: Config) => number | Promise<number>,
  write = false,
): Promise<number> {
  const { config, source } = commandConfig(values);
  sayDatabase(config.store.path, source);
  let db;
  try {
    db = openDatabase(config.store.path, { readonly: !write });
  } catch (err) {
    if (err instanceof StoreError) {
      process.stderr.write(`gatehouse identity: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  try {
    if ((db.pragma('user_version', { simple: true }) as number) < latestVersion()) {
      process.stderr.write('gatehouse identity: the database is older than this Gatehouse: start the service once to upgrade it\n');
      return 1;
    }
    return await work(db, config);
  } catch (err) {
    if (err instanceof IdentityError) {
      process.stderr.write(`gatehouse identity: ${printable(err.message)}\n`);
      return err.code === 'GH_ERR_IDENTITY_NOT_FOUND' ? 3 : 1;
    }
    throw err;
  } finally {
    db.close();
  }
}

const actor = () => `cli (${userInfo().username})`;

export const command = defineGroup(
  {
    name: 'identity',
    summary: 'who and what is at an address now (identity show …), roster imports, subject access export, erasure',
  },
  {
    show: {
      spec: {
        name: 'identity show',
        summary: 'the person and device at an address now, the group that applies, and what each source says',
        usage: ['identity show ADDRESS [--json] [--config FILE]'],
        options: { json: { type: 'boolean', help: 'print JSON instead of text' } },
        notes: `Sources: radius, dhcp, ptr (reverse DNS) and devices (the school's list). The service writes its
state about once a second; a record whose time is over is shown as expired. Exit code 3 when
nothing is known about the address.`,
      },
      run: async (values, positionals) => {
        const [address, ...rest] = positionals;
        if (!address || rest.length > 0)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse identity show: give one ADDRESS (see gatehouse identity show --help)');
        return withDatabase(values, (db, config) => {
          // The roster group mappings are the governed policy's (src/changes/), not the file's.
          const view = showAddress(db, address, { ...config.identity, groups: mappingsInForce(db, config.identity.groups) });
          if (!view) {
            process.stderr.write(`gatehouse identity show: "${printable(address)}" is not an IP address\n`);
            return 2;
          }
          process.stdout.write(values.json ? JSON.stringify(view, (_k, v: unknown) => (v === Infinity ? null : v), 2) + '\n' : text(view));
          return view.identity ? 0 : 3;
        });
      },
    },
    export: {
      spec: {
        name: 'identity export',
        summary: 'everything held about one person (a subject access request), as a ZIP of CSV and JSON files',
        usage: ['identity export --user NAME [--out FILE.zip] [--config FILE]'],
        options: {
          user: { type: 'string', value: 'NAME', help: 'the person: user name (any spelling), email, or #ID' },
          out: {
            type: 'string',
            value: 'FILE',
            help: 'where to write the ZIP (default gatehouse-person-ID-DATE.zip here); never overwritten',
          },
        },
        notes: `The ZIP holds README.txt, person.json, lookups.csv, alerts.csv, alert-history.csv and
review-requests.csv (operations.md, "Subject access requests"). It is personal data: mode 0600.
Exit code 3 when nobody has that name.`,
      },
      run: async (values) => {
        if (typeof values.user !== 'string' || values.user.trim() === '')
          throw new CommandError('GH_ERR_USAGE', 'gatehouse identity export: give --user NAME (see gatehouse identity export --help)');
        return withDatabase(
          values,
          async (db, config) => {
            const person = personNamed(db, values.user as string);
            const names = new Map(config.categories.map((c) => [c.id, c.name]));
            const file =
              typeof values.out === 'string' ? values.out : `gatehouse-person-${person.id}-${new Date().toISOString().slice(0, 10)}.zip`;
            try {
              const r = await exportPersonToFile(db, person, file, { by: actor(), categoryName: (id) => names.get(id) ?? id });
              process.stdout.write(
                `${file}: person #${person.id}, ${r.lookups} lookups, ${r.alerts} alerts, ${r.requests} review requests\n`,
              );
              return 0;
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
                process.stderr.write(`gatehouse identity export: ${file} exists already; choose another --out\n`);
                return 1;
              }
              throw err;
            }
            // Writable: the export is change-logged.
          },
          true,
        );
      },
    },
    erase: {
      spec: {
        name: 'identity erase',
        summary: 'remove a person who has left: their rows keep their counts but lose the name (change-logged)',
        usage: ['identity erase --user NAME --reason TEXT [--approved-by NAME] --yes [--config FILE]'],
        options: {
          user: { type: 'string', value: 'NAME', help: 'the person: user name (any spelling), email, or #ID' },
          reason: { type: 'string', value: 'TEXT', help: 'why (e.g. "left July 2027, erasure request 2027-09-01"); must not name them' },
          'approved-by': { type: 'string', value: 'NAME', help: 'on whose authority (the data protection officer)' },
          yes: { type: 'boolean', help: 'do it (without it, nothing is changed)' },
        },
        notes: `Refused while the person is on a roster (take them off it first) or signed in now. The change
log records "person #ID erased", who ran it, --approved-by and --reason, never the name. Backups made
before stay as they were until they expire (operations.md, "Erasure"). Exit code 3 when nobody has that name.`,
      },
      run: async (values) => {
        if (
          typeof values.user !== 'string' ||
          values.user.trim() === '' ||
          typeof values.reason !== 'string' ||
          values.reason.trim() === ''
        )
          throw new CommandError(
            'GH_ERR_USAGE',
            'gatehouse identity erase: give --user NAME and --reason TEXT (see gatehouse identity erase --help)',
          );
        return withDatabase(
          values,
          (db) => {
            const person = personNamed(db, values.user as string);
            if (values.yes !== true) {
              process.stderr.write(`gatehouse identity erase: would erase person #${person.id}; nothing changed: add --yes\n`);
              return 1;
            }
            const r = erasePerson(db, person, {
              actor: actor(),
              reason: (values.reason as string).trim(),
              ...(typeof values['approved-by'] === 'string' ? { approver: values['approved-by'] } : {}),
            });
            process.stdout.write(
              `erased person #${r.personId}: ${r.lookups} lookups, ${r.alerts} alerts and ${r.requests} review requests keep their counts without the name; ` +
                `${r.devices} devices and ${r.addresses} address records cleared\n`,
            );
            if (!r.walTruncated)
              process.stderr.write(
                'gatehouse identity erase: the service was reading: its write-ahead log is emptied at its next checkpoint\n',
              );
            return 0;
          },
          true,
        );
      },
    },
    imports: {
      spec: {
        name: 'identity imports',
        summary: 'the latest roster imports: people added, changed, removed and refused, or why a file was refused',
        usage: ['identity imports [--config FILE]'],
        options: {},
      },
      run: async (values) =>
        withDatabase(values, (db) => {
          for (const r of listRosterImports(db))
            process.stdout.write(
              `${new Date(r.at).toISOString()}  ${r.ok ? 'ok     ' : 'REFUSED'}  ${printable(r.source)}  added ${r.added} changed ${r.changed} removed ${r.removed} refused ${r.refused}${r.error ? `  ${printable(r.error)}` : ''}\n`,
            );
          return 0;
        }),
    },
  },
);

function text(v: AddressView): string {
  const lines = [`address   ${v.address}`];
  const id = v.identity;
  if (!id) {
    lines.push('identity  unknown (no current record from any source): the network group applies');
  } else {
    const p = v.person;
    if (p) {
      const about = [p.displayName, p.email, p.role, p.yearGroup, p.orgUnit].filter(Boolean).map((s) => printable(s!));
      lines.push(
        `person    #${p.id} ${printable(p.userKey)}${about.length ? ` (${about.join(', ')})` : ''}  [${id.from.person}]${p.inRoster ? '' : ' not on the roster'}`,
      );
      lines.push(
        `group     ${v.personGroup ? `${v.personGroup} (roster)${v.precedence === 'network' ? ', but identity.precedence is network: the network group applies' : ''}` : 'the network group (the roster maps this person to no group)'}`,
      );
    } else lines.push('person    unknown');
    const d = v.device;
    lines.push(
      `device    ${d ? `#${d.id} ` : ''}${id.deviceName ? printable(id.deviceName) : '(no name)'}${id.from.deviceName ? `  [${id.from.deviceName}]` : ''}` +
        `${id.mac ? `  mac ${id.mac} [${id.from.mac}]` : ''}${d?.assetTag ? `  asset ${printable(d.assetTag)}` : ''}${d?.owner ? `  owner ${printable(d.owner)}` : ''}`,
    );
  }
  for (const r of v.records) {
    const parts = [
      r.userName ? `user ${printable(r.userName)}` : '',
      r.mac ? `mac ${r.mac}` : '',
      r.hostName ? `host ${printable(r.hostName)}` : '',
      r.sessionId ? `session ${printable(r.sessionId)}` : '',
      `from ${printable(r.origin)}`,
      `updated ${new Date(r.updatedAt).toISOString()}`,
      Number.isFinite(r.expiresAt) ? `${r.expired ? 'EXPIRED' : 'until'} ${new Date(r.expiresAt).toISOString()}` : 'no end',
    ].filter(Boolean);
    lines.push(`  ${r.source.padEnd(6)} ${r.address}  ${parts.join('  ')}`);
  }
  return lines.join('\n') + '\n';
}
