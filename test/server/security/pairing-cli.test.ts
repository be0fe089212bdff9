// npm start --auth always prints a viewer and an operator pairing link and a QR code; the
// printed link pairs a device; `npm run pair` (another process, same --data-dir) lists the
// paired devices, makes a link the running server accepts, and revokes a device, which the
// running server then refuses.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPair } from '../../../server/cli/pair.ts';
import { TOKEN_COOKIE } from '../../../server/security/pairing-guard.ts';
import { tempDir } from '../recording/support.ts';
import { runTsx, spawnTsx } from '../../support/cli.ts';
import { until } from '../../support/until.ts';

function get(url: string, cookie?: string): Promise<{ status: number; setCookie: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { headers: cookie === undefined ? {} : { cookie } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, setCookie: String(response.headers['set-cookie'] ?? '') }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('pairing from the command line', () => {
  let dir: ReturnType<typeof tempDir>;
  let server: ReturnType<typeof spawnTsx>;
  let stdout = '';
  let origin = '';

  beforeAll(async () => {
    dir = tempDir('knotmeter-pair-cli-');
    server = spawnTsx('server/cli/start.ts', ['--auth', 'always', '--port', '0', '--device', 'sim:idle?rate=50', '--data-dir', dir.path, '--log-level', 'error']);
    server.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await until(() => stdout.includes('npm run pair -- revoke NAME') || server.exitCode !== null, 'the server to print its pairing links', 30_000);
    origin = /Knotmeter dashboard: (http:\/\/\S+)/.exec(stdout)?.[1] ?? '';
  }, 40_000);
  afterAll(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const closed = once(server, 'close');
      server.kill('SIGTERM');
      await closed;
    }
    dir.remove();
  });

  const pair = (args: string[]) => runTsx('server/cli/pair.ts', [...args, '--data-dir', dir.path]);

  it('prints a viewer and an operator link and a QR code at start; the link pairs a device once', async () => {
    const viewer = new RegExp(`viewer \\(live view, review\\):\\s+(${origin}/pair\\?code=[A-Z2-9]{12})`).exec(stdout)?.[1];
    const operator = new RegExp(`operator \\(presets, labels, calibration, deletes\\):\\s+(${origin}/pair\\?code=[A-Z2-9]{12})`).exec(stdout)?.[1];
    expect(viewer, stdout).toBeDefined();
    expect(operator, stdout).toBeDefined();
    expect(stdout).toMatch(/Or scan the viewer link:\n[▄▀█ \n]{500,}/);
    expect((await get(`${origin}/api/sessions`)).status).toBe(401);
    const paired = await get(viewer ?? '');
    expect(paired.status).toBe(303);
    expect(paired.setCookie).toMatch(new RegExp(`^${TOKEN_COOKIE}=`));
    expect((await get(viewer ?? '')).status).toBe(401);
    expect((await get(`${origin}/socket.io/?EIO=4&transport=polling`, paired.setCookie.split(';')[0])).status).toBe(200);
    expect((await get(`${origin}/socket.io/?EIO=4&transport=polling`)).status).toBe(403);
  });

  it('lists, makes links the running server accepts, and revokes', { timeout: 60_000 }, async () => {
    const made = await pair(['new', '--role', 'operator', '--url', origin]);
    expect(made.code, made.stderr).toBe(0);
    const link = new RegExp(`${origin}/pair\\?code=[A-Z2-9]{12}`).exec(made.stdout)?.[0] ?? '';
    expect(made.stdout).toContain('Pairing link for an operator');
    const paired = await get(link);
    expect(paired.status).toBe(303);
    const cookie = paired.setCookie.split(';')[0] ?? '';
    expect((await get(`${origin}/socket.io/?EIO=4&transport=polling`, cookie)).status).toBe(200);
    const listed = await pair(['list']);
    expect(listed.stdout).toMatch(/^viewer-1\tviewer\tpaired \S+\tlast seen \S+\noperator-1\toperator\tpaired \S+\tlast seen \S+\n$/);
    const revoked = await pair(['revoke', 'operator-1']);
    expect(revoked).toMatchObject({ code: 0, stdout: 'Revoked operator-1: its requests are refused from now on.\n' });
    expect((await get(`${origin}/socket.io/?EIO=4&transport=polling`, cookie)).status).toBe(403);
    expect((await pair(['revoke', 'operator-1'])).code).toBe(1);
    expect((await pair(['list'])).stdout).not.toContain('operator-1');
    const usage = await pair(['new']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^knotmeter pair: new needs --role viewer or --role operator/);
  });

  it('refuses a flag given twice, as every command does, before touching the pairing file', () => {
    const quiet = { stdout: () => undefined, stderr: () => undefined };
    expect(() => runPair(['new', '--role', 'viewer', '--role', 'operator', '--data-dir', dir.path], quiet)).toThrow('--role is given 2 times ("viewer", "operator"): give it once');
    expect(() => runPair(['list', '--colour'], quiet)).toThrow('unknown flag --colour (see --help for the flags)');
  });

  it('names a damaged pairing file at start (exit 2) and what to do', async () => {
    const damaged = tempDir('knotmeter-pair-damaged-');
    try {
      writeFileSync(join(damaged.path, 'pairing.json'), '{"version": 1, "clients": "everyone"}');
      const refused = await runTsx('server/cli/start.ts', ['--auth', 'always', '--port', '0', '--device', 'sim:idle?rate=50', '--data-dir', damaged.path]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^knotmeter: \S+pairing\.json is not a pairing file \(clients: .*\): move it away to start pairing afresh\n$/);
      const listed = await runTsx('server/cli/pair.ts', ['list', '--data-dir', damaged.path]);
      expect(listed.code).toBe(1);
      expect(listed.stderr).toMatch(/^knotmeter pair: \S+pairing\.json is not a pairing file/);
    } finally {
      damaged.remove();
    }
  });
});
