// A real SMTP server process for the tests, built on smtp-server. Usage:
//   node smtp-sink.mjs [USER PASS]
// It listens on a port the kernel picks. With SMTP_SINK_KEY and SMTP_SINK_CERT
// (PEM files) in the environment it offers STARTTLS. With SMTP_SINK_DOWN=1 it
// starts as a server that is out of service (421 to every connection) until
// it gets SIGUSR2. Prints one JSON line per event on stdout: {"listening":PORT},
// {"up":true}, then {"from":..,"to":[..],"user":..,"secure":..,"raw":".."} per message.
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

const tls = process.env.SMTP_SINK_KEY
  ? { key: readFileSync(process.env.SMTP_SINK_KEY), cert: readFileSync(process.env.SMTP_SINK_CERT) }
  : null;

const [user, pass] = process.argv.slice(2);
let down = process.env.SMTP_SINK_DOWN === '1';
const server = new SMTPServer({
  secure: false,
  authOptional: !user,
  allowInsecureAuth: true,
  disabledCommands: tls ? [] : ['STARTTLS'],
  ...(tls ?? {}),
  logger: false,
  onConnect(_session, cb) {
    if (!down) return cb();
    const err = new Error('Service not available, closing transmission channel');
    err.responseCode = 421;
    cb(err);
  },
  onAuth(auth, _session, cb) {
    if (auth.username === user && auth.password === pass) cb(null, { user: auth.username });
    else cb(new Error('invalid credentials'));
  },
  // Refuse to take mail in the clear when TLS is on offer, as a strict server does.
  onMailFrom(_address, session, cb) {
    if (tls && !session.secure) cb(new Error('530 Must issue a STARTTLS command first'));
    else cb();
  },
  onData(stream, session, cb) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      process.stdout.write(
        JSON.stringify({
          from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user ?? null,
          secure: session.secure === true,
          raw: Buffer.concat(chunks).toString('utf8'),
        }) + '\n',
      );
      cb();
    });
  },
});
process.on('SIGUSR2', () => {
  down = false;
  process.stdout.write(JSON.stringify({ up: true }) + '\n');
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: server.server.address().port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
