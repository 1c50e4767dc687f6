// A real SMTP server process for the tests, built on smtp-server. Usage:
//   node smtp-sink.mjs PORT [USER PASS]
// With SMTP_SINK_KEY and SMTP_SINK_CERT (PEM files) in the environment it
// offers STARTTLS. Prints one JSON line per event on stdout: {"listening":PORT},
// then {"from":..,"to":[..],"user":..,"secure":..,"raw":".."} per message.
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';

const tls = process.env.SMTP_SINK_KEY
  ? { key: readFileSync(process.env.SMTP_SINK_KEY), cert: readFileSync(process.env.SMTP_SINK_CERT) }
  : null;

const [portArg, user, pass] = process.argv.slice(2);
const server = new SMTPServer({
  secure: false,
  authOptional: !user,
  allowInsecureAuth: true,
  disabledCommands: tls ? [] : ['STARTTLS'],
  ...(tls ?? {}),
  logger: false,
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
server.listen(Number(portArg ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: server.server.address().port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
