// `gatehouse device import FILE | list`: the devices the school names itself
// (MAC or address → name, asset tag, owner), e.g. from an MDM export. Every
// change is a change-log row; the service picks changes up within 10 s.
// `gatehouse device token DEVICE | tokens | revoke-token ID`: the tokens a
// device puts in its DoH URL or DoT name (identity/device-tokens.ts), each
// shown once when issued, with the device's settings and, on request, an
// Apple configuration profile.
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { openDatabase } from '../store/db.js';
import { importDevices, listDevices } from '../identity/devices.js';
import { findDevice, issueToken, listTokens, revokeToken } from '../identity/device-tokens.js';
import { appleProfile, deviceSetup } from '../identity/device-setup.js';
import { IdentityError } from '../identity/errors.js';
import { printable } from '../identity/names.js';
import { CommandError, commandConfig, defineGroup, sayDatabase } from './command.js';

type Values = Parameters<typeof commandConfig>[0];

/** Open the config's database, saying which, and run `work` on it; device errors are reported. */
function withDevices(
  sub: string,
  values: Values,
  work: (db: ReturnType<typeof openDatabase>, config: ReturnType<typeof commandConfig>['config']) => number,
): number {
  const { config, source } = commandConfig(values);
  sayDatabase(config.store.path, source);
  const db = openDatabase(config.store.path);
  try {
    return work(db, config);
  } catch (err) {
    if (err instanceof IdentityError) {
      process.stderr.write(`gatehouse device ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    db.close();
  }
}

export const command = defineGroup(
  {
    name: 'device',
    summary: 'import or list the devices the school names, and issue or revoke their encrypted DNS tokens',
  },
  {
    import: {
      spec: {
        name: 'device import',
        summary: 'name devices from a CSV (an MDM export): a MAC or address column and any of name, asset tag, owner',
        usage: ['device import FILE [--config FILE]'],
        options: {},
        notes: `Columns are found by header (README, "identity": Devices). Rows that cannot be used are listed
and skipped (exit code 1); the others are saved, each change a change-log row. The running service
picks changes up within 10 s.`,
      },
      run: async (values, positionals) => {
        const [file, ...rest] = positionals;
        if (!file || rest.length > 0)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse device import: give one FILE (see gatehouse device import --help)');
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (err) {
          process.stderr.write(`gatehouse device import: cannot read ${file}: ${(err as Error).message}\n`);
          return 1;
        }
        return withDevices('import', values, (db) => {
          const r = importDevices(db, text, `cli (${userInfo().username})`);
          process.stdout.write(`devices: ${r.added} added, ${r.changed} changed, ${r.unchanged} unchanged, ${r.refused.length} refused\n`);
          for (const x of r.refused.slice(0, 50)) process.stdout.write(`  line ${x.line}: ${printable(x.reason)}\n`);
          return r.refused.length > 0 ? 1 : 0;
        });
      },
    },
    list: {
      spec: {
        name: 'device list',
        summary: 'the devices the school named (id, key, name, asset tag, owner)',
        usage: ['device list [--all] [--config FILE]'],
        options: { all: { type: 'boolean', help: 'every device seen, not only the named ones' } },
      },
      run: async (values) =>
        withDevices('list', values, (db) => {
          for (const d of listDevices(db, values.all ? {} : { named: true }))
            process.stdout.write(
              [d.id, d.key, d.name ?? '', d.assetTag ?? '', d.owner ?? '', d.named ? 'named' : 'seen']
                .map((x) => printable(String(x)))
                .join('\t') + '\n',
            );
          return 0;
        }),
    },
    token: {
      spec: {
        name: 'device token',
        summary: 'issue a DoH/DoT token for a device (shown once), with its DoH URL and Android Private DNS name',
        usage: ['device token DEVICE [--group GROUP] [--label TEXT] [--mobileconfig FILE] [--config FILE]'],
        options: {
          group: { type: 'string', value: 'GROUP', help: 'filter the device as this group when no roster person is known' },
          label: { type: 'string', value: 'TEXT', help: 'a note shown in the token list (not secret)' },
          mobileconfig: { type: 'string', value: 'FILE', help: 'also write an Apple configuration profile (.mobileconfig) with the token' },
        },
        notes: `DEVICE is the device's id, its MAC, or the name, asset tag or serial number the school gave it
(gatehouse device list). The token is shown once and stored only as a hash: copy it now; a lost token
is revoked and a new one issued. The running service accepts it within 5 s.`,
      },
      run: async (values, positionals) => {
        const [ref, ...rest] = positionals;
        if (!ref || rest.length > 0)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse device token: give one DEVICE (see gatehouse device token --help)');
        return withDevices('token', values, (db, config) => {
          const group = values.group as string | undefined;
          if (group !== undefined && !config.groups.some((g) => g.name === group))
            throw new CommandError('GH_ERR_USAGE', `gatehouse device token: --group: no group ${JSON.stringify(group)} in the config`);
          const device = findDevice(db, ref);
          const issued = issueToken(db, {
            device,
            group,
            label: values.label as string | undefined,
            actor: `cli (${userInfo().username})`,
          });
          const setup = deviceSetup(issued.token, config);
          const name = device.name ?? device.key;
          const out = [`token ${issued.id} for device ${device.id} (${printable(name)}), shown only now: ${issued.token}`];
          if (setup.dohUrl) out.push(`DoH URL:              ${setup.dohUrl}`);
          if (setup.dotName) out.push(`Android Private DNS:  ${setup.dotName}`);
          if (!config.tls) out.push('(no tls section in the config: set up doh or dot and tls to use it)');
          const file = values.mobileconfig as string | undefined;
          if (file !== undefined) {
            if (!config.tls || (!setup.dohUrl && !setup.dotName))
              throw new CommandError('GH_ERR_USAGE', 'gatehouse device token: --mobileconfig needs doh or dot, and tls, in the config');
            writeFileSync(file, appleProfile(setup, config.tls.hostname, name), { mode: 0o600 });
            out.push(`Apple profile:        ${file} (holds the token: send it only to the device)`);
          }
          process.stdout.write(out.join('\n') + '\n');
          return 0;
        });
      },
    },
    tokens: {
      spec: {
        name: 'device tokens',
        summary: "the devices' tokens (id, device, group, label, issued, last used, revoked), never the tokens themselves",
        usage: ['device tokens [--all] [--config FILE]'],
        options: { all: { type: 'boolean', help: 'revoked tokens too' } },
      },
      run: async (values) =>
        withDevices('tokens', values, (db) => {
          const day = (t: number | undefined) => (t === undefined ? '' : new Date(t).toISOString().slice(0, 16).replace('T', ' '));
          for (const t of listTokens(db, { active: !values.all }))
            process.stdout.write(
              [
                t.id,
                t.deviceId,
                t.group ?? '',
                t.label ?? '',
                day(t.createdAt),
                day(t.lastUsedAt),
                t.revokedAt ? `revoked ${day(t.revokedAt)}` : 'active',
              ]
                .map((x) => printable(String(x)))
                .join('\t') + '\n',
            );
          return 0;
        }),
    },
    'revoke-token': {
      spec: {
        name: 'device revoke-token',
        summary: 'revoke a device token by its id (gatehouse device tokens); it stops working within 5 s',
        usage: ['device revoke-token ID [--config FILE]'],
        options: {},
      },
      run: async (values, positionals) => {
        const [id, ...rest] = positionals;
        if (!id || rest.length > 0 || !/^\d+$/.test(id))
          throw new CommandError(
            'GH_ERR_USAGE',
            'gatehouse device revoke-token: give one token ID (a number, from gatehouse device tokens)',
          );
        return withDevices('revoke-token', values, (db) => {
          const t = revokeToken(db, Number(id), `cli (${userInfo().username})`);
          process.stdout.write(`token ${t.id} (device ${t.deviceId}) revoked\n`);
          return 0;
        });
      },
    },
  },
);
