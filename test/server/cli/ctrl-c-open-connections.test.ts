// One Ctrl-C stops `npm start` with exit 0 while a browser still holds connections open: a
// request it has only half sent, responses it has not read (the dashboard's script asked
// for again and again on one connection, more than the kernel's buffers hold, so the
// server is still writing), and a live-stream (socket.io) client, which is disconnected.
import { connect, type Socket } from 'node:net';
import { io } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../recording/support.ts';
import { REPO_ROOT } from '../../support/cli.ts';
import { killAllTypedCommands, TypedCommand } from '../../support/typed-command.ts';
import { until } from '../../support/until.ts';

const URL_LINE = /Knotmeter dashboard: (http:\/\/127\.0\.0\.1:\d+)/;
/** More than a loopback connection buffers for a reader that reads nothing (about 4 MB sent + 128 kB received here). */
const UNREAD_BYTES = 16 * 2 ** 20;

interface OpenConnection {
  readonly socket: Socket;
  closed: boolean;
}

function openConnection(port: number, request: string): Promise<OpenConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const connection: OpenConnection = { socket, closed: false };
    socket.on('error', () => undefined);
    socket.on('close', () => (connection.closed = true));
    socket.once('connect', () => {
      socket.write(request);
      resolve(connection);
    });
    socket.once('error', reject);
  });
}

describe('one Ctrl-C with a browser’s connections open', () => {
  const dir = tempDir('knotmeter-open-connections-');
  afterEach(killAllTypedCommands);
  afterAll(() => dir.remove());

  it('stops the server with exit 0 and disconnects its live-stream client', { timeout: 240_000 }, async () => {
    // npm start as typed in a terminal (the dashboard built first if stale), Ctrl-C to its process group.
    const job = TypedCommand.start(`npm start -- --port 0 --data-dir ${dir.path} --log-level warn`, { cwd: REPO_ROOT });
    const [, url = ''] = await job.waitForOutput(URL_LINE, 180_000);
    const { port, host } = new URL(url);
    const html = await (await fetch(`${url}/`)).text();
    const script = /<script[^>]+src="\/?([^"]+\.js)"/.exec(html)?.[1];
    expect(script, `the dashboard page names its script: ${html.slice(0, 300)}`).toBeDefined();
    const scriptBytes = (await (await fetch(`${url}/${script ?? ''}`)).arrayBuffer()).byteLength;
    expect(scriptBytes).toBeGreaterThan(0);

    const live = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    let disconnectReason: string | null = null;
    live.on('disconnect', (reason) => (disconnectReason = reason));
    const halfSent = await openConnection(Number(port), `GET / HTTP/1.1\r\nHost: ${host}\r\n`);
    const pipelined = Math.ceil(UNREAD_BYTES / scriptBytes);
    const unread = await openConnection(Number(port), `GET /${script ?? ''} HTTP/1.1\r\nHost: ${host}\r\n\r\n`.repeat(pipelined));
    let answered = false;
    unread.socket.once('data', () => {
      answered = true;
      unread.socket.pause();
    });
    await until(() => answered && live.connected, 'the first bytes of the unread responses and the live stream to connect', 20_000);

    const exit = await job.interrupt(20_000);
    expect({ code: exit.code, signal: exit.signal }, job.transcript()).toEqual({ code: 0, signal: null });
    expect(exit.stderr).toContain('Knotmeter stopped.');
    expect(exit.stderr).not.toMatch(/second signal/);
    await until(() => disconnectReason !== null, 'the live-stream client to be disconnected', 5_000);
    expect(['transport close', 'io server disconnect']).toContain(disconnectReason);
    unread.socket.resume();
    await until(() => halfSent.closed && unread.closed, 'both connections to be closed', 5_000);
    live.close();
  });
});
