// An alert engine in its own process, so a test can kill it mid-send (SIGKILL),
// as a power cut or crash would. Usage: node --import tsx engine-process.ts DB CONFIG_JSON
import { alertsSchema } from '../../../src/alerts/config.js';
import { AlertEngine } from '../../../src/alerts/engine.js';
import { openDatabase } from '../../../src/store/db.js';
import { categories, event } from './setup.js';

const [dbPath, configJson] = process.argv.slice(2);
const engine = new AlertEngine({ db: openDatabase(dbPath), config: alertsSchema.parse(JSON.parse(configJson)), categories });
engine.start();
engine.observe(event({ client: '10.7.7.7' }));
engine.flush();
process.stdout.write('observed\n');
// Stay alive until killed (bounded: a test that forgets us still ends).
setTimeout(() => process.exit(2), 60_000);
