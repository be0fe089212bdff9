// Closing the server does not wait on its clients. socket.io's close waits for every
// WebSocket connection to end, and ws gives a client that never answers the close frame
// 30 s: one tablet asleep on the Wi-Fi, or one frozen tab, held the whole server (and once
// the end of an e2e test) for that long. Here the client is a real socket.io-client in a
// process that is stopped (SIGSTOP) once connected, so it can answer nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../../support/server.ts';

const FROZEN_CLIENT = `
  import { io } from 'socket.io-client';
  io(process.argv[1], { transports: ['websocket'] }).on('connect', () => console.log('connected'));
`;

function connectedClientProcess(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', FROZEN_CLIENT, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('connected')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`the client process exited (${code}) before it connected`)));
  });
}

describe('closing the server', () => {
  let client: ChildProcess | undefined;
  afterEach(() => {
    client?.kill('SIGKILL');
  });

  // Well under ws's 30 s: a close that waited for the frozen client would fail here.
  it('ends while a connected client is frozen and answers nothing', { timeout: 15_000 }, async () => {
    const server = await startTestServer(['sim']);
    client = await connectedClientProcess(server.url);
    client.kill('SIGSTOP');
    await server.close();
    expect(client.exitCode).toBeNull();
  });

  it('tells a client that answers that the server went away', async () => {
    const server = await startTestServer(['sim']);
    const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    await server.close();
    expect(await disconnected).toBe('transport close');
  });
});
