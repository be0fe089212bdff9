// --tls-cert/--tls-key: npm start serves HTTPS with a self-signed certificate made here by
// openssl, its pairing links are https, the pairing cookie is Secure, the live stream
// connects over wss with the cookie; wrong or missing files are named before anything
// listens (exit 2).
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerArgs } from '../../../server/cli/start-args.ts';
import { TOKEN_COOKIE } from '../../../server/security/pairing-guard.ts';
import { readTlsFiles } from '../../../server/security/tls.ts';
import { tempDir } from '../recording/support.ts';
import { runTsx, spawnTsx } from '../../support/cli.ts';
import { until } from '../../support/until.ts';

const OPENSSL = '/usr/bin/openssl';

function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { cert, key };
}

function get(url: string, ca: Buffer, cookie?: string): Promise<{ status: number; setCookie: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { ca, headers: cookie === undefined ? {} : { cookie } }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, setCookie: String(response.headers['set-cookie'] ?? '') }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('HTTPS (--tls-cert, --tls-key)', () => {
  let dir: ReturnType<typeof tempDir>;
  let files: { cert: string; key: string };
  let server: ReturnType<typeof spawnTsx>;
  let stdout = '';

  beforeAll(async () => {
    if (!existsSync(OPENSSL)) throw new Error(`${OPENSSL} is missing: apt-get install openssl`);
    dir = tempDir('knotmeter-tls-');
    files = selfSigned(dir.path, 'knot');
    server = spawnTsx('server/cli/start.ts', ['--auth', 'always', '--tls-cert', files.cert, '--tls-key', files.key, '--port', '0', '--device', 'sim:idle?rate=50', '--data-dir', dir.path, '--log-level', 'error']);
    server.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await until(() => stdout.includes('npm run pair -- revoke NAME') || server.exitCode !== null, 'the HTTPS server to print its pairing links', 30_000);
  }, 40_000);
  afterAll(async () => {
    if (server.exitCode === null && server.signalCode === null) {
      const closed = once(server, 'close');
      server.kill('SIGTERM');
      await closed;
    }
    dir.remove();
  });

  it('pairs over HTTPS with a Secure cookie, and the live stream connects over wss', { timeout: 30_000 }, async () => {
    const origin = /Knotmeter dashboard: (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    expect(origin, stdout).toBeDefined();
    const link = new RegExp(`viewer \\(live view, review\\):\\s+(${origin ?? ''}/pair\\?code=[A-Z2-9]{12})`).exec(stdout)?.[1] ?? '';
    const ca = readFileSync(files.cert);
    const paired = await get(link, ca);
    expect(paired.status).toBe(303);
    expect(paired.setCookie).toMatch(new RegExp(`^${TOKEN_COOKIE}=[A-Za-z0-9_-]+; HttpOnly; SameSite=Strict; Path=/; Max-Age=\\d+; Secure$`));
    const cookie = paired.setCookie.split(';')[0] ?? '';
    expect((await get(`${origin ?? ''}/api/pairing`, ca, cookie)).status).toBe(200);
    expect((await get(`${origin ?? ''}/api/pairing`, ca)).status).toBe(401);
    const client = io(origin ?? '', { transports: ['websocket'], forceNew: true, reconnection: false, ca: ca.toString(), extraHeaders: { cookie } });
    try {
      const connected = await new Promise<boolean>((resolve) => {
        client.on('connect', () => resolve(true));
        client.on('connect_error', () => resolve(false));
      });
      expect(connected).toBe(true);
    } finally {
      client.close();
    }
    // Plain HTTP on the HTTPS port gets no answer a browser would show.
    const plain = await fetch(`${(origin ?? '').replace('https:', 'http:')}/api/pairing`).then((response) => response.status, () => 'refused');
    expect(plain).not.toBe(200);
  });

  it('names a wrong or missing file before anything listens', async () => {
    const other = selfSigned(dir.path, 'other');
    expect(() => parseServerArgs(['--tls-cert', files.cert])).toThrow('--tls-cert needs --tls-key too: pass both the certificate and its key, or neither');
    expect(() => parseServerArgs(['--tls-key', files.key])).toThrow('--tls-key needs --tls-cert too');
    expect(parseServerArgs([]).tls).toBeNull();
    expect(() => readTlsFiles(join(dir.path, 'missing.pem'), files.key)).toThrow(/^--tls-cert .*missing\.pem: cannot read it \(no such file\)/);
    expect(() => readTlsFiles(files.key, files.key)).toThrow(/is not a PEM certificate/);
    expect(() => readTlsFiles(files.cert, files.cert)).toThrow(/is not a PEM private key/);
    expect(() => readTlsFiles(files.cert, other.key)).toThrow(/is not the key of --tls-cert/);
    expect(readTlsFiles(files.cert, files.key).cert.toString()).toContain('BEGIN CERTIFICATE');
    const refused = await runTsx('server/cli/start.ts', ['--tls-cert', files.cert, '--tls-key', other.key, '--port', '0', '--data-dir', dir.path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^knotmeter: --tls-key .* is not the key of --tls-cert/);
  });
});
