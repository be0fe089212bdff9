/**
 * The emulated sensors, read by the fixture program over the real pty: A0 follows the
 * millivolts set on it, the emulated HX711 hands over the value set on it (gain pulses,
 * power-down and output rate included), and force profiles (function, CSV trace, simulated
 * massager) reach the sensor through the default calibration curves at the emulated times
 * they name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emulator, forceToHx711Raw, forceToMillivolts, millivoltsToAdc, parseForceCsv, type PinChange } from '../../../device/emulator/emulator.ts';
import { buildFixture, SerialLink, type Fixture } from './fixture.ts';

let fixture: Fixture;

beforeAll(async () => {
  fixture = await buildFixture();
});

afterAll(async () => {
  await fixture.remove();
});

/** Starts an emulator on the fixture and opens its port (waiting for the boot line). */
async function open(options: { sensor?: 'fsr' | 'hx711'; hx711RateHz?: 10 | 80; realtime?: boolean } = {}): Promise<{ emulator: Emulator; link: SerialLink; close: () => Promise<void> }> {
  const emulator = await Emulator.start({ hexPath: fixture.hexPath, ...options });
  const link = await SerialLink.open(emulator.ptyPath, 115_200);
  await link.waitForLine(/^READY/);
  return {
    emulator,
    link,
    close: async () => {
      await link.close();
      await emulator.stop();
    },
  };
}

function valueOf(line: string): number {
  return Number(line.split(',').at(-1));
}

describe('A0', () => {
  it('reads what the millivolts set on it give (simavr: floor(mV * 1023 / 5000))', async () => {
    const { emulator, link, close } = await open();
    try {
      for (const millivolts of [0, 1, 5, 1000, 2500, 3333, 4000, 4995, 5000]) {
        await emulator.setAnalogMillivolts(millivolts);
        expect(valueOf(await link.request('A', /^A,/)), `${millivolts} mV`).toBe(millivoltsToAdc(millivolts));
      }
    } finally {
      await close();
    }
  });

  it('takes a force through the default FSR curve', async () => {
    const { emulator, link, close } = await open();
    try {
      for (const forceN of [0, 10, 30, 60, 200]) {
        await emulator.setForceNewtons(forceN);
        const expectedRaw = (1023 * forceN) / (forceN + 30);
        expect(Math.abs(valueOf(await link.request('A', /^A,/)) - expectedRaw), `${forceN} N`).toBeLessThanOrEqual(1);
      }
    } finally {
      await close();
    }
  });

  it('refuses inputs outside 0..5000 mV, and HX711 values without an HX711', async () => {
    const { emulator, close } = await open();
    try {
      await expect(emulator.setAnalogMillivolts(5001)).rejects.toThrow();
      await expect(emulator.setAnalogMillivolts(-1)).rejects.toThrow();
      await expect(emulator.setAnalogMillivolts(Number.NaN)).rejects.toThrow();
      await expect(emulator.setHx711Raw(1)).rejects.toThrow(/no HX711/);
      await expect(emulator.schedule('adc0', [[2_000_000, 100], [1_000_000, 100]])).rejects.toThrow(/must not decrease/);
    } finally {
      await close();
    }
  });
});

describe('the emulated HX711 on D2/D3', () => {
  /** Reads twice: the first read may still carry the conversion latched before the change. */
  async function settledRead(link: SerialLink, pulses = ''): Promise<number> {
    await link.request(`H${pulses}`, /^H,/);
    return valueOf(await link.request(`H${pulses}`, /^H,-?\d+$/));
  }

  it('returns the signed 24-bit value set on it, MSB first, after DOUT goes low', async () => {
    const { emulator, link, close } = await open({ sensor: 'hx711' });
    try {
      for (const raw of [0, 1, -1, 123_456, -654_321, 8_388_607, -8_388_608]) {
        await emulator.setHx711Raw(raw);
        expect(await settledRead(link), `raw ${raw}`).toBe(raw);
      }
      await expect(emulator.setHx711Raw(8_388_608)).rejects.toThrow();
      await emulator.setForceNewtons(10);
      expect(await settledRead(link)).toBe(forceToHx711Raw(10));
      expect(forceToHx711Raw(10)).toBe(428_000);
    } finally {
      await close();
    }
  });

  it('switches to channel A gain 64 after 27 pulses and back after 25, and reports it', async () => {
    const { emulator, link, close } = await open({ sensor: 'hx711' });
    try {
      await emulator.setHx711Raw(200_000);
      const gain64 = emulator.waitForEvent('hx711', (event) => event.state === 'gain' && event.gain === 64);
      expect(await settledRead(link, '27')).toBe(100_000);
      await gain64;
      expect(await settledRead(link, '25')).toBe(200_000);
    } finally {
      await close();
    }
  });

  it('powers down when SCK stays high over 60 us, and powers up (settling) when it falls', async () => {
    const { emulator, link, close } = await open({ sensor: 'hx711' });
    try {
      await emulator.setHx711Raw(4242);
      const down = emulator.waitForEvent('hx711', (event) => event.state === 'powerDown');
      const up = emulator.waitForEvent('hx711', (event) => event.state === 'powerUp');
      await link.request('D100', /^D,ok$/);
      const [downEvent, upEvent] = await Promise.all([down, up]);
      // the fixture's 100 x _delay_us(1) loop holds SCK high for ~140 us
      const highUs = upEvent.emulatedUs - downEvent.emulatedUs + 60;
      expect(highUs).toBeGreaterThanOrEqual(100);
      expect(highUs).toBeLessThanOrEqual(200);
      expect(await settledRead(link)).toBe(4242);
      // a short SCK pulse (the reads above) never powers it down
      await link.request('D30', /^D,ok$/);
      await expect(emulator.waitForEvent('hx711', (event) => event.state === 'powerDown', 300)).rejects.toThrow(/no matching/);
    } finally {
      await close();
    }
  });

  it('unplugs (DOUT high, no conversions, no data events) and plugs in again (settling, then data), with hx711Data events at the exact conversion times', async () => {
    const emulator = await Emulator.start({ hexPath: fixture.hexPath, sensor: 'hx711', hx711DataEvents: true });
    const link = await SerialLink.open(emulator.ptyPath, 115_200);
    const data: { raw: number; emulatedUs: number }[] = [];
    emulator.onEvent((event) => {
      if (event.event === 'hx711Data') data.push({ raw: event.raw, emulatedUs: event.emulatedUs });
    });
    try {
      await link.waitForLine(/^READY/);
      const setUs = await emulator.setHx711Raw(-777);
      expect(await settledRead(link)).toBe(-777);
      const before = data.filter((event) => event.emulatedUs > setUs);
      expect(before.length).toBeGreaterThanOrEqual(2);
      expect(before.every((event) => event.raw === -777)).toBe(true);
      // 80 SPS off the 16 MHz clock: whole conversion periods of exactly 12 500 us apart (one that
      // completes during a read is not presented: the read's data stays put)
      for (let index = 1; index < data.length; index++) expect(((data[index]?.emulatedUs ?? 0) - (data[index - 1]?.emulatedUs ?? 0)) % 12_500).toBe(0);

      const unpluggedUs = await emulator.setHx711Connected(false);
      expect(await emulator.setHx711Connected(false)).toBeGreaterThanOrEqual(unpluggedUs); // repeating it changes nothing
      // the fixture waits 1 s for DOUT to fall
      expect(await link.request('H', /^H,/, 5000)).toBe('H,timeout');
      await emulator.setHx711Raw(4321); // taken while unplugged, presented once back
      const pluggedUs = await emulator.setHx711Connected(true);
      expect(pluggedUs - unpluggedUs).toBeGreaterThan(1_000_000);
      expect(data.filter((event) => event.emulatedUs > unpluggedUs && event.emulatedUs < pluggedUs)).toEqual([]);
      expect(await settledRead(link)).toBe(4321);
      const after = data.filter((event) => event.emulatedUs > pluggedUs);
      // power-on: the first data after the settling time, four conversion periods
      expect(after[0]).toEqual({ raw: 4321, emulatedUs: expect.any(Number) as number });
      expect((after[0]?.emulatedUs ?? 0) - pluggedUs).toBeGreaterThanOrEqual(4 * 12_500 - 1);
      expect((after[0]?.emulatedUs ?? 0) - pluggedUs).toBeLessThanOrEqual(4 * 12_500 + 1000);
    } finally {
      await link.close();
      await emulator.stop();
    }
  });

  it('refuses to unplug an HX711 that is not there', async () => {
    const { emulator, close } = await open();
    try {
      await expect(emulator.setHx711Connected(false)).rejects.toThrow(/no HX711/);
    } finally {
      await close();
    }
  });

  it.each([10, 80] as const)('has a conversion ready %i times a second', async (rateHz) => {
    const { link, close } = await open({ sensor: 'hx711', hx711RateHz: rateHz });
    try {
      await link.request('Y1', /^Y,ok$/); // read whenever DOUT is low
      const times: number[] = [];
      while (times.length < 8) times.push(Number((await link.waitForLine(/^Y,\d+,/)).split(',')[1]));
      await link.request('Y0', /^Y,ok$/);
      const periodsMs = times.slice(2).map((time, index) => time - (times[index + 1] ?? 0));
      for (const periodMs of periodsMs) expect(Math.abs(periodMs - 1000 / rateHz)).toBeLessThanOrEqual(1.5);
    } finally {
      await close();
    }
  });
});

describe('force profiles', () => {
  function pinEdges(emulator: Emulator): { edges: PinChange[]; stop: () => void } {
    const edges: PinChange[] = [];
    const stop = emulator.onPinChange((change) => {
      if (change.pin === 'D13') edges.push(change);
    });
    return { edges, stop };
  }

  it('replays a CSV trace against the emulated clock (FSR): the fixture sees it at the named times', async () => {
    const { emulator, link, close } = await open();
    try {
      await link.request('S2', /^S,ok$/); // sample A0 every 2 ms, D13 = A0 >= 512
      await link.waitForLine(/^S,\d+,0$/);
      const { edges, stop } = pinEdges(emulator);
      // 60 N gives 682 counts (over the fixture's threshold); 0 N gives 0
      const drive = await emulator.driveForce({ kind: 'csv', csv: '# a press\nt_ms,force_n\n0,0\n200,60\n400,0\n' });
      await drive.done;
      const firstRise = (): PinChange | undefined => edges.find((edge) => edge.level === 1);
      const fallAfter = (): PinChange | undefined => edges.find((edge) => edge.level === 0 && edge.emulatedUs > (firstRise()?.emulatedUs ?? 0));
      // The fall follows the last force of the trace by up to a sampling period and a UART line.
      await expect.poll(() => fallAfter() !== undefined, { timeout: 5000 }).toBe(true);
      stop();
      const [rise, fall] = [firstRise(), fallAfter()];
      expect(rise).toBeDefined();
      expect(fall).toBeDefined();
      // within one sampling period (2 ms) plus a little for the UART line in between
      expect((rise?.emulatedUs ?? 0) - drive.startUs - 200_000).toBeGreaterThanOrEqual(0);
      expect((rise?.emulatedUs ?? 0) - drive.startUs - 200_000).toBeLessThan(3_500);
      expect((fall?.emulatedUs ?? 0) - drive.startUs - 400_000).toBeGreaterThanOrEqual(0);
      expect((fall?.emulatedUs ?? 0) - drive.startUs - 400_000).toBeLessThan(3_500);
      await link.request('S0', /^S,ok$/);
      expect(valueOf(await link.request('A', /^A,/))).toBe(0);
    } finally {
      await close();
    }
  });

  it('drives a function of time on the HX711 (through 42 800 counts/N)', async () => {
    const { emulator, link, close } = await open({ sensor: 'hx711' });
    try {
      const drive = await emulator.driveForce({ kind: 'function', forceN: (elapsedMs) => (elapsedMs < 100 ? 5 : 12.5), durationMs: 150, sampleHz: 200 });
      await drive.done;
      await link.request('H', /^H,/);
      expect(valueOf(await link.request('H', /^H,-?\d+$/))).toBe(forceToHx711Raw(12.5));
    } finally {
      await close();
    }
  });

  it("feeds the project's simulated massager, endlessly, until stopped (flat out)", async () => {
    const { emulator, link, close } = await open({ realtime: false });
    try {
      const drive = await emulator.driveForce({ kind: 'scenario', scenario: 'over-pressure', seed: 7, rateHz: 200 });
      await link.request('S20', /^S,ok$/);
      const readings = new Set<number>();
      const startUs = await emulator.emulatedTimeUs();
      while ((await emulator.emulatedTimeUs()) - startUs < 8_000_000) {
        readings.add(valueOf(await link.waitForLine(/^S,\d+,\d+$/)));
      }
      await drive.stop();
      await drive.done;
      // a hand pressing and releasing: many distinct readings, all on the FSR's scale
      expect(readings.size).toBeGreaterThan(20);
      for (const reading of readings) expect(reading).toBeLessThanOrEqual(1023);
      expect(Math.max(...readings)).toBeGreaterThan(millivoltsToAdc(forceToMillivolts(15)));
    } finally {
      await close();
    }
  });

  it('parses traces strictly', () => {
    expect(parseForceCsv('t_ms,force_n\n0,1.5\n\n10,2\n')).toEqual([
      { tMs: 0, forceN: 1.5 },
      { tMs: 10, forceN: 2 },
    ]);
    expect(() => parseForceCsv('0,1\n-5,1\n')).toThrow(/line 2/);
    expect(() => parseForceCsv('10,1\n5,1\n')).toThrow(/backwards/);
    expect(() => parseForceCsv('0,abc\n')).toThrow(/line 1/);
    expect(() => parseForceCsv('t_ms,force_n\n')).toThrow(/no rows/);
  });
});
