// PairingStore: one-time codes that expire, tokens kept only as hashes in an atomically
// written file, revocation seen by a second store on the same file (as the server sees
// `npm run pair -- revoke`), codes written by another process accepted once.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CODE_LIFETIME_MS, PairingError, PairingStore, sha256 } from '../../../server/security/pairing.ts';
import { tempDir } from '../recording/support.ts';

describe('PairingStore', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => dir.remove()));
  function pairingFile(): string {
    const dir = tempDir('knotmeter-pairing-');
    dirs.push(dir);
    return join(dir.path, 'pairing.json');
  }

  it('exchanges a code once for a token of its role, kept only as a SHA-256', () => {
    const file = pairingFile();
    const store = new PairingStore(file);
    const { code } = store.newCode('viewer');
    expect(code).toMatch(/^[A-Z2-9]{12}$/);
    const paired = store.redeem(code.toLowerCase());
    expect(paired?.client).toMatchObject({ name: 'viewer-1', role: 'viewer', lastSeenAt: null });
    expect(store.redeem(code)).toBeNull();
    const token = paired?.token ?? '';
    expect(store.authenticate(token)).toMatchObject({ name: 'viewer-1', role: 'viewer' });
    expect(store.authenticate('forged')).toBeNull();
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).toContain(sha256(token));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a code after five minutes', () => {
    let nowMs = 1_000_000;
    const store = new PairingStore(null, () => nowMs);
    const late = store.newCode('operator');
    const onTime = store.newCode('operator');
    nowMs += CODE_LIFETIME_MS - 1;
    expect(store.redeem(onTime.code)?.client.role).toBe('operator');
    nowMs += 1;
    expect(store.redeem(late.code)).toBeNull();
  });

  it('names clients uniquely, as asked when the name is usable', () => {
    const store = new PairingStore(null);
    expect(store.redeem(store.newCode('viewer').code, 'tablet')?.client.name).toBe('tablet');
    expect(store.redeem(store.newCode('viewer').code, 'tablet')?.client.name).toBe('tablet-1');
    expect(store.redeem(store.newCode('operator').code, 'Not a name!')?.client.name).toBe('operator-1');
  });

  it('sees a revocation and a pending code written by another process', () => {
    const file = pairingFile();
    const server = new PairingStore(file);
    const paired = server.redeem(server.newCode('operator').code);
    const cli = new PairingStore(file);
    expect(cli.list().map((client) => client.name)).toEqual(['operator-1']);
    expect(cli.revoke('operator-1')).toBe(true);
    expect(cli.revoke('operator-1')).toBe(false);
    expect(server.authenticate(paired?.token)).toBeNull();
    const pending = new PairingStore(file).newPendingCode('viewer');
    expect(server.redeem(pending.code)?.client.role).toBe('viewer');
    expect(server.redeem(pending.code)).toBeNull();
    expect(new PairingStore(file).list().map((client) => client.name)).toEqual(['viewer-1']);
  });

  it('names a damaged pairing file and what to do', () => {
    const file = pairingFile();
    writeFileSync(file, '{"version":1,"clients":[{"name":"x"}]}');
    expect(() => new PairingStore(file)).toThrow(PairingError);
    expect(() => new PairingStore(file)).toThrow(/is not a pairing file .*move it away/);
  });
});
