// A real SMTP server process for the tests, built on smtp-server. Usage:
//   node smtp-sink.mjs PORT [USER PASS]
// Prints one JSON line per event on stdout: {"listening":PORT}, then
// {"from":..,"to":[..],"user":..,"raw":".."} for each message accepted.
import { SMTPServer } from 'smtp-server';

const [portArg, user, pass] = process.argv.slice(2);
const server = new SMTPServer({
  secure: false,
  authOptional: !user,
  allowInsecureAuth: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onAuth(auth, _session, cb) {
    if (auth.username === user && auth.password === pass) cb(null, { user: auth.username });
    else cb(new Error('invalid credentials'));
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
