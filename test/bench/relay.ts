/**
 * The fair baseline of the live path (`bus.ts`): the least a program can do to put a serial
 * device's lines on a socket.io stream. `serialport` + `@serialport/parser-readline` + one
 * socket.io emit per line, nothing else (no validation, no engine, no batching).
 *
 *   node --import tsx test/bench/relay.ts /dev/pts/7    # prints "relay: http://127.0.0.1:PORT"
 */
import { createServer } from 'node:http';
import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { Server } from 'socket.io';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: relay.ts SERIAL_PATH');
const http = createServer();
const io = new Server(http, { serveClient: false });
const port = new SerialPort({ path, baudRate: 115_200 });
port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' })).on('data', (line: string) => io.emit('line', line));
http.listen(0, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`relay: http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
