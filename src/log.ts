// The process logger. Child loggers are made once at start-up, never per query.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info'): Logger {
  return pino({
    level,
    base: { service: 'gatehouse' },
    // Secrets never reach the log, whatever a caller passes by mistake.
    redact: { paths: ['password', '*.password', 'secret', '*.secret', 'token', '*.token', 'totp', '*.totp'], censor: '[redacted]' },
  });
}

/** A logger that writes nothing: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
