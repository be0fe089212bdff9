// `npm run firmware`: both builds as Intel HEX (with their ELF), the flash/RAM
// report, and the budget check that fails an oversized build.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIRMWARE_DIR = join(ROOT, 'device', 'firmware');
const BUILD_DIR = join(FIRMWARE_DIR, 'build');
const SENSORS = ['fsr', 'hx711'] as const;
const FLASH_USABLE_BYTES = 32_256; // 32 KiB less Optiboot's 512 bytes
const RAM_BYTES = 2048;

interface Usage {
  readonly flashBytes: number;
  readonly ramBytes: number;
}

/** Data bytes in an Intel HEX file, after checking every record's checksum and the end record. */
function hexDataBytes(path: string): number {
  const records = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  let dataBytes = 0;
  let ended = false;
  for (const record of records) {
    expect(record).toMatch(/^:([0-9A-F]{2})+$/);
    const bytes = Buffer.from(record.slice(1), 'hex');
    const length = bytes[0] ?? 0;
    expect(bytes.length).toBe(length + 5);
    expect(bytes.reduce((sum, byte) => (sum + byte) & 0xff, 0)).toBe(0);
    if (bytes[3] === 0x00) dataBytes += length;
    if (bytes[3] === 0x01) ended = true;
  }
  expect(ended).toBe(true);
  return dataBytes;
}

describe('npm run firmware', () => {
  let output = '';
  const usage = new Map<string, Usage>();

  beforeAll(() => {
    const build = spawnSync('npm', ['run', 'firmware'], { cwd: ROOT, encoding: 'utf8' });
    output = build.stdout + build.stderr;
    expect(build.status, output).toBe(0);
    for (const match of output.matchAll(/^knotmeter-(\w+): flash (\d+) of (\d+) bytes \([\d.]+ %\), RAM (\d+) of (\d+) bytes/gm)) {
      expect(Number(match[3])).toBe(FLASH_USABLE_BYTES);
      expect(Number(match[5])).toBe(RAM_BYTES);
      usage.set(match[1] ?? '', { flashBytes: Number(match[2]), ramBytes: Number(match[4]) });
    }
  }, 120_000);

  it.each(SENSORS)('builds knotmeter-%s.hex and .elf', (sensor) => {
    const hex = join(BUILD_DIR, `knotmeter-${sensor}.hex`);
    expect(existsSync(join(BUILD_DIR, `knotmeter-${sensor}.elf`))).toBe(true);
    expect(existsSync(hex)).toBe(true);
    // The hex holds exactly what the report counts as flash: .text and .data.
    expect(hexDataBytes(hex)).toBe(usage.get(sensor)?.flashBytes);
  });

  it.each(SENSORS)('keeps %s within 90 %% of flash and 75 %% of RAM', (sensor) => {
    const used = usage.get(sensor);
    expect(used, output).toBeDefined();
    expect(used?.flashBytes).toBeLessThanOrEqual(Math.floor(FLASH_USABLE_BYTES * 0.9));
    expect(used?.ramBytes).toBeLessThanOrEqual(Math.floor(RAM_BYTES * 0.75));
  });

  it('fails a build over the flash or RAM budget', () => {
    const elf = join(BUILD_DIR, 'knotmeter-fsr.elf');
    const small = spawnSync(join(FIRMWARE_DIR, 'size-report.sh'), [elf], {
      encoding: 'utf8',
      env: { ...process.env, FLASH_USABLE_BYTES: '4096', RAM_BYTES: '1024' },
    });
    expect(small.status).toBe(1);
    expect(small.stderr).toMatch(/flash, over the limit of 3686 \(90 % of 4096\)/);
    expect(small.stderr).toMatch(/RAM for \.data \+ \.bss, over the limit of 768 \(75 % of 1024\)/);
  });
});
