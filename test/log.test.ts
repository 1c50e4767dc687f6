import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.js';

describe('logger', () => {
  it('never writes secrets, however deep they sit', () => {
    let out = '';
    const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => ((out += String(chunk)), done()) }));
    logger.info(
      {
        password: 'top-secret-1',
        alerts: { channels: { email: { auth: { user: 'dsl', password: 'top-secret-2' } }, webhook: { secret: 'top-secret-3' } } },
        token: 'top-secret-4',
      },
      'config loaded',
    );
    expect(out).toContain('config loaded');
    expect(out).toContain('dsl');
    expect(out).not.toMatch(/top-secret/);
  });
});
