// `--bus-key FILE` (server/security/bus-key.ts): read and checked at start, every mistake named
// with what to do.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../server/errors.ts';
import { readBusKey } from '../../../server/security/bus-key.ts';

const folder = mkdtempSync(join(tmpdir(), 'knotmeter-bus-key-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function keyFile(name: string, text: string, mode = 0o600): string {
  const path = join(folder, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

describe('readBusKey', () => {
  it('reads the key, without the line end', () => {
    const key = 'a'.repeat(64);
    expect(readBusKey(keyFile('good.key', `${key}\n`))).toEqual(Buffer.from(key));
  });

  it('refuses a missing file, a folder, a short key and one other users may read', () => {
    const make = 'make one with openssl rand -hex 32 > FILE && chmod 600 FILE, and copy the same file to every server of the clinic';
    expect(() => readBusKey(join(folder, 'none.key'))).toThrow(new UsageError(`--bus-key ${join(folder, 'none.key')}: cannot read it (no such file): ${make}`));
    expect(() => readBusKey(folder)).toThrow(UsageError);
    const short = keyFile('short.key', 'abc123\n');
    expect(() => readBusKey(short)).toThrow(new UsageError(`--bus-key ${short} holds 6 characters, fewer than the 32 a bus key needs: ${make}`));
    const open = keyFile('open.key', 'b'.repeat(64), 0o644);
    expect(() => readBusKey(open)).toThrow(new UsageError(`--bus-key ${open} can be read by other users of this host (mode 644): chmod 600 ${open}`));
  });
});
