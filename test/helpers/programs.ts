// Tests that need a Debian program (dig, kdig, nsd, unbound, dnsperf, chromium)
// skip with a clear message when it is missing; under CI=true a missing
// program is a failure, because .ci/run installs them.
import { execFileSync } from 'node:child_process';

const found = new Map<string, string | null>();

/** Absolute path of a program on PATH or in the sbin directories, or null. */
export function findProgram(name: string): string | null {
  if (found.has(name)) return found.get(name)!;
  let path: string | null = null;
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    try {
      execFileSync('test', ['-x', `${dir}/${name}`]);
      path = `${dir}/${name}`;
      break;
    } catch {
      /* not here */
    }
  }
  found.set(name, path);
  return path;
}

/**
 * Returns true when every program is present. When one is missing it prints why
 * the tests are skipped, or throws under CI=true.
 */
export function havePrograms(...names: string[]): boolean {
  const missing = names.filter((n) => !findProgram(n));
  if (missing.length === 0) return true;
  const message = `missing program(s): ${missing.join(', ')} (install with: apt-get install dnsutils knot-dnsutils nsd unbound ldnsutils dnsperf dnsmasq-base chromium kea-dhcp4-server isc-dhcp-client freeradius-utils iproute2)`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI must have them`);
  console.warn(`skipping: ${message}`);
  return false;
}
