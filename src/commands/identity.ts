// `gatehouse identity show ADDRESS`: who and what is at an address now, and
// from which source, read from the service's database (src/identity/show.ts).
import { openDatabase } from '../store/db.js';
import { StoreError } from '../store/errors.js';
import { printable } from '../identity/names.js';
import { showAddress, type AddressView } from '../identity/show.js';
import { listRosterImports } from '../identity/roster/import.js';
import type { Config } from '../config.js';
import { CommandError, commandConfig, defineGroup, sayDatabase } from './command.js';

type Values = Parameters<typeof commandConfig>[0];

/** Open the config's database read-only, saying which, and run `work` on it. */
function withDatabase(values: Values, work: (db: ReturnType<typeof openDatabase>, config: Config) => number): number {
  const { config, source } = commandConfig(values);
  sayDatabase(config.store.path, source);
  let db;
  try {
    db = openDatabase(config.store.path, { readonly: true });
  } catch (err) {
    if (err instanceof StoreError) {
      process.stderr.write(`gatehouse identity: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  try {
    return work(db, config);
  } finally {
    db.close();
  }
}

export const command = defineGroup(
  { name: 'identity', summary: 'who and what is at an address now (identity show …), roster imports' },
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
          const view = showAddress(db, address, config.identity);
          if (!view) {
            process.stderr.write(`gatehouse identity show: "${printable(address)}" is not an IP address\n`);
            return 2;
          }
          process.stdout.write(values.json ? JSON.stringify(view, (_k, v: unknown) => (v === Infinity ? null : v), 2) + '\n' : text(view));
          return view.identity ? 0 : 3;
        });
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
