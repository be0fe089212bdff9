/**
 * The emulated UART through a real pseudo-terminal and the real `serialport` bindings:
 * text and every byte value both ways at 115200 baud (our firmware's rate) and at 57600
 * (StandardFirmata's), the link speed the harness reports, and output nobody reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emulator } from '../../../device/emulator/emulator.ts';
import { buildFixture, SerialLink, type Fixture } from './fixture.ts';

const everyByte = Buffer.from(Array.from({ length: 256 }, (_, index) => index));

describe.each([115_200, 57_600])('the UART at %i baud', (baudRate) => {
  let fixture: Fixture;
  let emulator: Emulator;
  let link: SerialLink;

  beforeAll(async () => {
    fixture = await buildFixture(baudRate);
    emulator = await Emulator.start({ hexPath: fixture.hexPath });
    link = await SerialLink.open(emulator.ptyPath, baudRate);
  });

  afterAll(async () => {
    await link.close();
    await emulator.stop();
    await fixture.remove();
  });

  it('resets the AVR when the port opens (as an Uno does), so the boot output arrives', async () => {
    expect(await link.waitForLine(/^READY,/)).toBe(`READY,${baudRate}`);
  });

  it("reports the link the firmware configured: the chip's rounded rate, 10-bit 8N1 frames", async () => {
    const uart = emulator.uart ?? (await emulator.waitForEvent('uart'));
    // UBRR0 with U2X0, as the chip rounds it: 117647 (+2.1 %) and 57142 (-0.8 %)
    expect(Math.abs(uart.baud / baudRate - 1)).toBeLessThan(0.025);
    expect(uart.frameBits).toBe(10);
  });

  it('carries lines both ways', async () => {
    for (const text of ['hello', 'a longer line with spaces, commas; and $ymbols*7F', 'x'.repeat(80)]) {
      expect(await link.request(`E${text}`, /^E/)).toBe(`E${text}`);
    }
  });

  it('carries every byte value both ways, in order', async () => {
    await link.request(`B${everyByte.length}`, /^B,go$/);
    await link.write(everyByte);
    const echoed = await link.readBytes(everyByte.length);
    expect(echoed.equals(everyByte)).toBe(true);
  });

  it('loses what a firmware with interrupts off cannot take: the chip holds 3 bytes, not 64', async () => {
    let lost = 0;
    const unsubscribe = emulator.onEvent((event) => {
      if (event.event === 'serialDropped' && event.reason === 'overrun') lost += event.bytes;
    });
    const line = 'E0123456789';
    await link.write(`Z50\n${line}`);
    await link.waitForLine(/^Z,ok$/);
    const survivors = await link.request('', /^E/);
    unsubscribe();
    // 50 ms without interrupts: 2 bytes in the receive buffer and 1 in the shift register
    // survive (the ISR may have taken one or two before); the rest is lost, and reported
    expect(survivors.length).toBeGreaterThanOrEqual(3);
    expect(survivors.length).toBeLessThanOrEqual(5);
    expect(survivors).toBe(line.slice(0, survivors.length));
    expect(lost).toBe(line.length - survivors.length);
    expect(await link.request('Eafter', /^E/)).toBe('Eafter');
  });

  it('keeps up with a burst longer than the chip buffers, when the firmware reads in time', async () => {
    const burst = Buffer.alloc(2000, 0x55);
    await link.request(`B${burst.length}`, /^B,go$/);
    await link.write(burst);
    expect((await link.readBytes(burst.length, 10_000)).equals(burst)).toBe(true);
  });
});

describe('UART output nobody reads', () => {
  it('is dropped after dropUnreadMs and reported, and the link works afterwards', async () => {
    const fixture = await buildFixture();
    const emulator = await Emulator.start({ hexPath: fixture.hexPath, dropUnreadMs: 1000 });
    try {
      let link = await SerialLink.open(emulator.ptyPath, 115_200);
      await link.waitForLine(/^READY/);
      const dropped = emulator.waitForEvent('serialDropped', (event) => event.reason === 'unread');
      await link.request('S1', /^S,ok$/); // a sample line every millisecond
      await link.close();
      const event = await dropped;
      expect(event.bytes).toBeGreaterThan(0);

      // Opening the port again resets the fixture (streaming stops). On a loaded machine its
      // boot line can be gone before this side reads (output unread for dropUnreadMs is
      // dropped, which is the point of the option), so ask until it answers.
      link = await SerialLink.open(emulator.ptyPath, 115_200);
      let answer: string | null = null;
      for (let attempt = 0; attempt < 5 && answer === null; attempt++) {
        answer = await link.request('Eagain', /^Eagain$/, 2000).catch(() => null);
      }
      expect(answer).toBe('Eagain');
      await link.close();
    } finally {
      await emulator.stop();
      await fixture.remove();
    }
  });
});
