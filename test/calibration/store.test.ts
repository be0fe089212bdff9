// Profiles on disk: one file per device with its whole history (a new fit is appended,
// never written over the old one), atomic writes, every read validated (a corrupt file
// is an error naming it, never "no profile"), and changes announced to subscribers,
// including saves by another process.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fitCalibration } from '../../calibration/fit.ts';
import { newProfileEntry, retaredEntry, type ProfileEntry } from '../../calibration/profile.ts';
import { FileProfileStore, MemoryProfileStore, ProfileFileError } from '../../calibration/store.ts';
import { until } from '../support/until.ts';

const DEVICE = '1a2b3c4d';

function entry(scaleCountsPerN: number, now = new Date('2025-03-01T10:00:00Z')): ProfileEntry {
  const points = [0, 10, 20, 50].map((forceN, index) => ({
    raw: forceN * scaleCountsPerN + (index % 2 === 0 ? 30 : -30),
    forceN,
    massKg: null,
    sdRaw: 12,
    kind: forceN === 0 ? ('zero' as const) : ('load' as const),
  }));
  return newProfileEntry(fitCalibration({ sensor: 'hx711', tareRaw: 0, points }, 'test'), { madeWith: 'command', now });
}

describe('profile store', () => {
  let dataDir: string;
  let store: FileProfileStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'knotmeter-profiles-'));
    store = new FileProfileStore(dataDir);
  });
  afterEach(async () => {
    store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every fit, the newest in force, in data/calibration/ID.json', async () => {
    expect(store.read(DEVICE)).toBeNull();
    store.append(DEVICE, entry(42_000));
    store.append(DEVICE, entry(43_000, new Date('2025-03-02T10:00:00Z')));
    const file = store.read(DEVICE);
    expect(file?.history).toHaveLength(2);
    expect(store.active(DEVICE)?.createdAt).toBe('2025-03-02T10:00:00.000Z');
    expect(JSON.parse(await readFile(join(dataDir, 'calibration', `${DEVICE}.json`), 'utf8'))).toMatchObject({ format: 'knotmeter-calibration', version: 1, deviceId: DEVICE });
    // Atomic writes leave no temporary files behind.
    expect(await readdir(join(dataDir, 'calibration'))).toEqual([`${DEVICE}.json`]);
  });

  it('a re-tare is a new entry with the same curve and a new zero', () => {
    const fitted = entry(42_000);
    store.append(DEVICE, fitted);
    store.append(DEVICE, retaredEntry(fitted, 1234, 'dashboard'));
    const [first, second] = store.read(DEVICE)?.history ?? [];
    expect(second?.reason).toBe('tare');
    expect(second?.tareRaw).toBe(1234);
    expect(second?.fit).toEqual(first?.fit);
  });

  it.each([
    ['not JSON', '{"format": ', /calibration profile .*calibration\/1a2b3c4d.json is not valid JSON/],
    ['a broken fit', (text: string) => text.replace('"slopeNPerX": ', '"slopeNPerX": -'), /calibration profile .*1a2b3c4d.json is not valid \(history.0.fit.slopeNPerX: must be above 0\)/],
    ['another device', (text: string) => text.replace(`"deviceId": "${DEVICE}"`, '"deviceId": "ffff0000"'), /is for device ffff0000, not 1a2b3c4d/],
  ])('a corrupt file (%s) is an error naming it, and is never saved over', async (_name, corrupt, message) => {
    store.append(DEVICE, entry(42_000));
    const path = join(dataDir, 'calibration', `${DEVICE}.json`);
    const text = await readFile(path, 'utf8');
    const corrupted = typeof corrupt === 'string' ? corrupt : corrupt(text);
    await writeFile(path, corrupted);
    expect(() => store.read(DEVICE)).toThrow(ProfileFileError);
    expect(() => store.read(DEVICE)).toThrow(message);
    expect(() => store.read(DEVICE)).toThrow(/it is not replaced by the default curve/);
    expect(() => store.checkAll()).toThrow(message);
    expect(() => store.append(DEVICE, entry(44_000))).toThrow(ProfileFileError);
    expect(await readFile(path, 'utf8')).toBe(corrupted);
  });

  it('refuses another sensor kind for the same device, and names that are not device ids', () => {
    store.append(DEVICE, entry(42_000));
    const fsrFit = newProfileEntry(
      fitCalibration({ sensor: 'fsr', tareRaw: 0, points: [{ raw: 300, forceN: 10, massKg: null, sdRaw: null, kind: 'load' }, { raw: 500, forceN: 30, massKg: null, sdRaw: null, kind: 'load' }] }, 'test'),
      { madeWith: 'command' },
    );
    expect(() => store.append(DEVICE, fsrFit)).toThrow(/device 1a2b3c4d was calibrated as hx711, not fsr/);
    expect(() => store.read('../../etc/passwd')).toThrow(/is not a device id/);
  });

  it('tells subscribers about saves from this process and from another one', async () => {
    const heard: string[] = [];
    store.subscribe((deviceId) => heard.push(deviceId));
    store.append(DEVICE, entry(42_000));
    expect(heard).toContain(DEVICE);
    heard.length = 0;
    const other = new FileProfileStore(dataDir);
    other.append('0000beef', entry(40_000));
    await until(() => heard.includes('0000beef'), 'the watch to see the other save', 5000);
    expect(store.checkAll()).toEqual(['0000beef', DEVICE]);
  });

  it('in memory: the same promises without files', () => {
    const memory = new MemoryProfileStore();
    const heard: string[] = [];
    memory.subscribe((deviceId) => heard.push(deviceId));
    memory.append(DEVICE, entry(42_000));
    expect(memory.active(DEVICE)?.sensor).toBe('hx711');
    expect(heard).toEqual([DEVICE]);
  });
});
