/** Device names kept per device id in the data directory: spec names, renames, restarts, damaged files. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEVICE_NAMES_FILE, DeviceNames, DeviceNamesError } from '../../../server/devices/names.ts';

describe('DeviceNames', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'knotmeter-names-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('names an unnamed device by its kind and the end of its id', () => {
    const names = DeviceNames.open(dataDir);
    expect(names.nameFor('1a2b3c4d', null, 'sim')).toBe('Simulator 3c4d');
    expect(names.nameFor('1a2b3c4d', null, 'serial')).toBe('Massager 3c4d');
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('keeps a spec name and a rename across a restart; the same spec does not undo the rename, a new one does', () => {
    const first = DeviceNames.open(dataDir);
    expect(first.nameFor('1a2b3c4d', 'Couch 2', 'serial')).toBe('Couch 2');
    const heard: string[] = [];
    first.subscribe((deviceId, name) => heard.push(`${deviceId}=${name}`));
    expect(first.rename('1a2b3c4d', '  Window couch ')).toEqual({ before: 'Couch 2', after: 'Window couch' });
    expect(heard).toEqual(['1a2b3c4d=Window couch']);

    const restarted = DeviceNames.open(dataDir);
    expect(restarted.nameFor('1a2b3c4d', 'Couch 2', 'serial')).toBe('Window couch');
    expect(restarted.nameFor('1a2b3c4d', null, 'serial')).toBe('Window couch');
    expect(restarted.nameFor('1a2b3c4d', 'Couch 3', 'serial')).toBe('Couch 3');
    expect(DeviceNames.open(dataDir).get('1a2b3c4d')).toBe('Couch 3');
    // Written whole, no temporary file left beside it.
    expect(readdirSync(dataDir)).toEqual([DEVICE_NAMES_FILE]);
  });

  it('refuses a name that is not plain text, changing nothing', () => {
    const names = DeviceNames.open(dataDir);
    names.rename('1a2b3c4d', 'Couch');
    expect(() => names.rename('1a2b3c4d', 'a\u0007b')).toThrow(/must not contain control characters/);
    expect(() => names.rename('1a2b3c4d', 'x'.repeat(41))).toThrow(/at most 40 characters/);
    expect(DeviceNames.open(dataDir).get('1a2b3c4d')).toBe('Couch');
  });

  it('refuses to start on a damaged file, naming it and what to do', () => {
    writeFileSync(join(dataDir, DEVICE_NAMES_FILE), '{"version":1,"devices":{"1a2b3c4d":{"name":"","specName":null}}}');
    expect(() => DeviceNames.open(dataDir)).toThrow(DeviceNamesError);
    expect(() => DeviceNames.open(dataDir)).toThrow(`${join(dataDir, DEVICE_NAMES_FILE)} is not a device names file`);
    expect(readFileSync(join(dataDir, DEVICE_NAMES_FILE), 'utf8')).toContain('"name":""');
  });

  it('keeps names in memory without a data directory', () => {
    const names = DeviceNames.open(undefined);
    names.rename('1a2b3c4d', 'Couch');
    expect(names.location).toBeNull();
    expect(names.displayName('1a2b3c4d', 'sim')).toBe('Couch');
  });
});
