// FreeRADIUS's radclient sending accounting requests to a server on loopback.
import { execFile } from 'node:child_process';
import { findProgram } from './programs.js';

export interface RadclientResult {
  /** An Accounting-Response came back (and radclient verified its authenticator). */
  answered: boolean;
  output: string;
}

/** Send one Accounting-Request made of `attributes` ("Name = value" lines) to 127.0.0.1:port. */
export function radclientAcct(port: number, secret: string, attributes: string[], timeoutS = 5): Promise<RadclientResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      findProgram('radclient')!,
      ['-x', '-r', '1', '-t', String(timeoutS), `127.0.0.1:${port}`, 'acct', secret],
      { timeout: 15_000 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        // radclient exits non-zero when no reply came; that is an answer too.
        if (err && (err as { killed?: boolean }).killed) return reject(err);
        resolve({ answered: /Received Accounting-Response/.test(output), output });
      },
    );
    child.stdin!.end(attributes.join('\n') + '\n');
  });
}
