// The server's command line, run as a user runs it: help, version, every kind of bad input
// (exit 2, naming the flag, what it takes and what it got), and a clean shutdown on SIGTERM
// and SIGINT.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerArgs, resolveEngineSettings } from '../../../server/cli/start-args.ts';
import { UsageError } from '../../../server/cli/support.ts';
import { serverEventSchemas } from '../../../server/contract/live-events.ts';
import { REPO_ROOT, runTsx, spawnTsx, waitForLine } from '../../support/cli.ts';

const MAIN = 'server/cli/start.ts';

describe('npm start (server/cli/start.ts)', () => {
  // Servers started here keep their recordings and profiles out of the project's data/.
  let dataDir = '';
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-cli-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('--help lists every flag and the device specs', async () => {
    const result = await runTsx(MAIN, ['--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--host', '--port', '--device', '--seed', '--room', '--log-level', '--help']) expect(result.stdout).toContain(flag);
    expect(result.stdout).toContain('sim[:treatment|over-pressure|kneading|idle|ppt]');
  });

  it.concurrent.each([
    [['--colour', 'red'], /unknown flag --colour/],
    [['--port', 'eighty'], /--port needs a whole number from 0 to 65535 \(got --port "eighty"\)/],
    [['--port', '70000'], /--port needs a whole number from 0 to 65535/],
    [['--port'], /--port needs a value/],
    [['--seed', '-3'], /--seed/],
    [['--log-level', 'loud'], /--log-level needs one of fatal, error, warn, info, debug, trace, silent/],
    [['--device', 'toaster'], /device spec "toaster": unknown device kind "toaster" \(known: sim, serial/],
    [['--device', 'sim:massage'], /unknown scenario "massage"/],
    [['--device', 'sim?rate=2000'], /rate=2000 is not a number from 10 to 1000/],
    [['stray'], /unexpected argument "stray"/],
    [['--preset', 'feet'], /--preset needs one of neck, shoulders, upper-back/],
    [['--preset', 'neck', '--config', 'x.json'], /--preset and --config cannot be used together/],
    [['--config', 'test/fixtures/no-such-file.json'], /--config test\/fixtures\/no-such-file.json: cannot read it/],
    [['--config', 'package.json'], /--config package.json: .*unknown field "name"/],
    [['--config', 'test/fixtures/configs/limit-inside-band.json'], /overLimitN \(28 N\) must be above bandHighN \(30 N\)/],
    [['--config', 'test/fixtures/configs/not-json.json'], /--config test\/fixtures\/configs\/not-json.json: not valid JSON/],
    [['--speed', 'fast'], /--speed needs a number from 0\.1 to 1000, or max \(got --speed "fast"\)/],
    [['--help=yes'], /--help takes no value/],
    [['--room', 'r'.repeat(41)], /--room needs what people call this server's room, e.g. "Room 2": it must be at most 40 characters \(got --room "r{41}"\)/],
  ])('refuses %j with exit 2 and a message naming it', { timeout: 90_000 }, async (args, message) => {
    // A device is checked once the recording is open (replay:ID reads it): keep that out of data/.
    const result = await runTsx(MAIN, [...args, '--data-dir', join(dataDir, 'refused')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/Invalid input|Invalid option|expected string/);
    expect(result.stdout).toBe('');
  });

  // Every flag's bad value, as parseServerArgs words it (the CLI prints it after "knotmeter: "):
  // the flag, what it takes, what it got; never zod's or parseArgs' stock text.
  it.each([
    [['--speed', '0'], '--speed needs a number from 0.1 to 1000, or max (got --speed "0")'],
    [['--speed', '1e3'], '--speed needs a number from 0.1 to 1000, or max (got --speed "1e3")'],
    [['--seed', '-3'], '--seed needs a value; for one that starts with a dash write --seed=VALUE'],
    [['--seed=-3'], '--seed needs a whole number from 0 to 4294967295 (got --seed "-3")'],
    [['--port', '1.5'], '--port needs a whole number from 0 to 65535 (got --port "1.5")'],
    [['--session-idle-s', '5'], '--session-idle-s needs a whole number of seconds from 10 to 86400 (got --session-idle-s "5")'],
    [['--host', ' '], '--host needs an address, e.g. 127.0.0.1 (got --host " ")'],
    [['--db', ''], '--db needs a file name, e.g. data/knotmeter.db (got --db "")'],
    [['--data-dir', ''], '--data-dir needs a directory, e.g. data (got --data-dir "")'],
    [['--store', 'postgres://knotmeter:s3cret@db.lan:5432/'], '--store needs a PostgreSQL URL naming a database, postgres://USER@HOST:PORT/DB (e.g. postgres://knotmeter@127.0.0.1:5432/knotmeter) (got --store "postgres://knotmeter@db.lan:5432/")'],
    [['--store', 'postgres://db.lan/k', '--db', 'x.db'], '--db and --store cannot be used together: sessions are recorded in one store (a SQLite file or a PostgreSQL database)'],
    [['--config', ''], '--config needs a file name (got --config "")'],
    [['--preset', 'NECK'], '--preset needs one of neck, shoulders, upper-back (got --preset "NECK")'],
    [['--log-level', 'verbose'], '--log-level needs one of fatal, error, warn, info, debug, trace, silent (got --log-level "verbose")'],
    [['--device', 'firmata', '--device-id', 'XYZ'], '--device-id needs a device id: 8 lowercase hex digits, e.g. 1a2b3c4d (got --device-id "XYZ")'],
    [['--version=2'], '--version takes no value'],
    [['--port', '8080', '--port', '9090'], '--port is given 2 times ("8080", "9090"): give it once'],
  ])('words %j as the flag, what it takes and what it got', (args, message) => {
    expect(() => parseServerArgs(args)).toThrow(new UsageError(message));
  });

  it('records into the PostgreSQL database --store names instead of a SQLite file', () => {
    expect(parseServerArgs(['--store', 'postgres://knotmeter@db.lan:5432/knotmeter']).store).toEqual({ kind: 'postgres', url: 'postgres://knotmeter@db.lan:5432/knotmeter' });
  });

  it('takes --device and --device-id more than once, one pair per device', () => {
    expect(parseServerArgs(['--device', 'firmata:/dev/a', '--device-id', '1a2b3c4d', '--device', 'firmata:/dev/b', '--device-id', '5e6f7a8b']).deviceIds).toEqual(['1a2b3c4d', '5e6f7a8b']);
  });

  it('reads relative --db, --data-dir and --config paths from the folder npm start was typed in', () => {
    const saved = { event: process.env.npm_lifecycle_event, initCwd: process.env.INIT_CWD };
    process.env.npm_lifecycle_event = 'start';
    process.env.INIT_CWD = join(REPO_ROOT, 'test');
    try {
      expect(parseServerArgs(['--db', 'x.db', '--data-dir', 'here'])).toMatchObject({ store: { kind: 'sqlite', path: join(REPO_ROOT, 'test', 'x.db') }, dataDir: join(REPO_ROOT, 'test', 'here') });
      expect(parseServerArgs(['--data-dir', 'here']).store).toEqual({ kind: 'sqlite', path: join(REPO_ROOT, 'test', 'here', 'knotmeter.db') });
      expect(resolveEngineSettings(parseServerArgs(['--config', 'fixtures/configs/neck-firm.json'])).config.overLimitN).toBe(23);
    } finally {
      if (saved.event === undefined) delete process.env.npm_lifecycle_event;
      else process.env.npm_lifecycle_event = saved.event;
      if (saved.initCwd === undefined) delete process.env.INIT_CWD;
      else process.env.INIT_CWD = saved.initCwd;
    }
  });

  it('--version prints knotmeter and the version in package.json', async () => {
    const result = await runTsx(MAIN, ['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`knotmeter ${(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('serves, then shuts down cleanly on %s', async (signal) => {
    const child = spawnTsx(MAIN, ['--port', '0', '--device', 'sim', '--data-dir', dataDir, '--log-level', 'warn']);
    const [, url] = await waitForLine(child, /Knotmeter dashboard: (http:\/\/127\.0\.0\.1:\d+)/);
    const page = await fetch(`${url ?? ''}/`);
    expect(page.status).toBeLessThan(600);
    child.kill(signal);
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
  });

  it('takes SIGINTs that come together (a terminal\'s Ctrl-C, relayed by npm) as one: a clean stop, exit 0', async () => {
    const child = spawnTsx(MAIN, ['--port', '0', '--device', 'sim', '--data-dir', dataDir, '--log-level', 'warn']);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitForLine(child, /Knotmeter dashboard: /);
    for (let count = 0; count < 3; count++) child.kill('SIGINT');
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    expect(stderr).toContain('Knotmeter stopped.');
  });

  it('runs every device with a custom --config, which clients see as such', async () => {
    const child = spawnTsx(MAIN, ['--port', '0', '--config', 'test/fixtures/configs/neck-firm.json', '--data-dir', dataDir, '--log-level', 'warn']);
    try {
      const [, url] = await waitForLine(child, /Knotmeter dashboard: (http:\/\/127\.0\.0\.1:\d+)/);
      const client = io(url ?? '', { transports: ['websocket'] });
      const devices = await new Promise<unknown>((resolve) => client.once('devices', resolve));
      client.close();
      const [device] = serverEventSchemas.devices.parse(devices);
      expect(device?.preset).toBeNull();
      expect(device?.engineConfig).toMatchObject({ bandLowN: 8, bandHighN: 18, overLimitN: 23, overClearN: 21 });
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  });

  it('says which port is taken when it cannot listen', async () => {
    const first = spawnTsx(MAIN, ['--port', '0', '--data-dir', dataDir, '--log-level', 'silent']);
    const [, port] = await waitForLine(first, /127\.0\.0\.1:(\d+)/);
    const second = await runTsx(MAIN, ['--port', port ?? '', '--data-dir', join(dataDir, 'second'), '--log-level', 'silent']);
    first.kill('SIGTERM');
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`port ${port ?? ''} is taken: pass --port with another port`));
    await once(first, 'close');
  });
});
