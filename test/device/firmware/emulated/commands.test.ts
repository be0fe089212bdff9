/**
 * The real `fsr` hex in the emulator, through the real `serialport` on its pty: it says
 * HELLO first at boot (protocol 1, firmware 1.2.0, a valid device id, 100 Hz, the alarm at
 * its ceiling, the ceiling)
 * over a 10-bit 8N1 link at the chip's 117647 baud; it ACKs every command with values in
 * range and answers every kind of bad line with the NAK reason device/PROTOCOL.md gives
 * (range, syntax, checksum, unknown, `?` where the command cannot be read), changing
 * nothing; RATE stops at the link rule's boundary (370 Hz at 115200 baud); STREAM,0 stops
 * the S lines while seq keeps counting in device time; ZONE blinks D13 at its emulated
 * half periods; commands written back to back get one reply each, in order. The alarm
 * ceiling: a LIMIT above it, or 0,0, is refused `NAK,LIMIT,ceiling` and the alarm keeps
 * sounding at the old limit; CEILING is refused `NAK,CEILING,locked` (no thumb button).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frame } from '../../../../device/protocol/framing.ts';
import { DEFAULT_ALARM_CEILING_RAW } from '../../../../device/protocol/device-messages.ts';
import { millivoltsForRaw } from './support/alarm-pins.ts';
import { EmulatedFirmware, FIRMWARE_BAUD_RATE, isReply, LONGEST_SAMPLE_LINE_BYTES } from './support/emulated-firmware.ts';

const PERIOD_US = 10_000; // 100 Hz, the fsr default
/** The link rule of device/PROTOCOL.md: floor(0.9 * baud / 10 / L). */
const LINK_RATE_LIMIT_HZ = Math.floor((0.9 * FIRMWARE_BAUD_RATE) / 10 / LONGEST_SAMPLE_LINE_BYTES.fsr);
const TEST_TIMEOUT_MS = 90_000;
/** The fsr build's default ceiling (CEILING_FSR), and the thresholds of a blank EEPROM at it: off 1/32 lower. */
const CEILING = DEFAULT_ALARM_CEILING_RAW.fsr;
const AT_CEILING = `${CEILING},${CEILING - Math.floor(CEILING / 32)}`;

let device: EmulatedFirmware;

beforeAll(async () => {
  device = await EmulatedFirmware.start({ sensor: 'fsr' });
});

afterAll(async () => {
  await device.close();
});

async function expectReply(line: string | Buffer, expectedBody: string): Promise<void> {
  const reply = await device.request(line);
  expect(reply.text, `reply to ${JSON.stringify(Buffer.from(line).toString('latin1'))}`).toBe(frame(expectedBody));
}

async function helloNow(): Promise<string> {
  return (await device.command('INFO')).text;
}

describe('boot', () => {
  it('says HELLO first: protocol 1, firmware 1.2.0, an 8-hex id (not 00000000/ffffffff), fsr, 100 Hz, the alarm at its ceiling, the ceiling', () => {
    const first = device.lines[0];
    expect(first?.text).toMatch(/^\$HELLO,1,1\.2\.0,[0-9a-f]{8},fsr,100,767,744,767\*[0-9A-F]{2}$/);
    expect(first?.message).toEqual(device.hello);
    expect(device.hello).toMatchObject({ protocolVersion: 1, firmwareVersion: '1.2.0', sensor: 'fsr', rateHz: 100, limitOnRaw: 767, limitOffRaw: 744, alarmCeilingRaw: CEILING });
    expect(device.hello.deviceId).toMatch(/^[0-9a-f]{8}$/);
    expect(['00000000', 'ffffffff']).not.toContain(device.hello.deviceId);
  });

  it('then samples from seq 0, the first one period after sampling started (t_us 0 at HELLO)', async () => {
    const [first, second] = await device.samples(1, 2);
    expect(device.lines[1]?.message?.type).toBe('S');
    expect(first).toMatchObject({ seq: 0, tUs: PERIOD_US });
    expect(second).toMatchObject({ seq: 1, tUs: 2 * PERIOD_US });
  });

  it("configures the UART as the chip does at 115200: UBRR0 16 with U2X0 (117647 baud), 10-bit 8N1 frames", async () => {
    const uart = device.emulator.uart ?? (await device.emulator.waitForEvent('uart'));
    expect(uart.baud).toBeCloseTo(16e6 / 8 / 17, 0);
    expect(uart.frameBits).toBe(10);
  });

  it('answers INFO with the same HELLO', async () => {
    expect(await helloNow()).toBe(device.lines[0]?.text);
  });
});

describe('commands', () => {
  it(
    'ACKs every command with values in range, and HELLO shows what took effect',
    async () => {
      const accepted = [
        'STREAM,1',
        'RATE,10',
        `RATE,${LINK_RATE_LIMIT_HZ}`,
        'RATE,100',
        `LIMIT,${CEILING},${CEILING - 1}`,
        'LIMIT,1,0',
        ...[0, 1, 2, 3, 4, 5, 6, 7].map((mask) => `FEEDBACK,${mask}`),
        ...[0, 1, 2, 3].map((zone) => `ZONE,${zone}`),
        'ZONE,0',
        'TARE',
      ];
      for (const body of accepted) await expectReply(`${frame(body)}\n`, `ACK,${body.split(',')[0] ?? ''}`);
      await expectReply(`${frame('RATE,250')}\n`, 'ACK,RATE');
      await expectReply(`${frame('LIMIT,600,550')}\n`, 'ACK,LIMIT');
      expect(await helloNow()).toBe(frame(`HELLO,1,1.2.0,${device.hello.deviceId},fsr,250,600,550,${CEILING}`));
      await expectReply(`${frame('RATE,100')}\n`, 'ACK,RATE');
      await expectReply(`${frame(`LIMIT,${AT_CEILING}`)}\n`, 'ACK,LIMIT');
      expect(await helloNow()).toBe(device.lines[0]?.text);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses values out of range, malformed values and wrong field counts with the command named, and changes nothing',
    async () => {
      await expectReply(`${frame('LIMIT,700,650')}\n`, 'ACK,LIMIT');
      const before = await helloNow();
      const refused: [body: string, reply: string][] = [
        ['STREAM,2', 'NAK,STREAM,range'],
        ['STREAM,-1', 'NAK,STREAM,range'],
        ['STREAM', 'NAK,STREAM,syntax'],
        ['STREAM,1,1', 'NAK,STREAM,syntax'],
        ['STREAM,on', 'NAK,STREAM,syntax'],
        ['RATE,9', 'NAK,RATE,range'],
        ['RATE,0', 'NAK,RATE,range'],
        ['RATE,-100', 'NAK,RATE,range'],
        ['RATE,1000', 'NAK,RATE,range'],
        ['RATE,99999999999', 'NAK,RATE,range'],
        ['RATE,1e2', 'NAK,RATE,syntax'],
        ['RATE,+100', 'NAK,RATE,syntax'],
        ['RATE, 100', 'NAK,RATE,syntax'],
        ['RATE,', 'NAK,RATE,syntax'],
        ['RATE,-', 'NAK,RATE,syntax'],
        ['LIMIT,500,600', 'NAK,LIMIT,range'],
        ['LIMIT,600,600', 'NAK,LIMIT,range'],
        ['LIMIT,1024,0', 'NAK,LIMIT,range'],
        ['LIMIT,600,-1', 'NAK,LIMIT,range'],
        ['LIMIT,0,1', 'NAK,LIMIT,range'],
        [`LIMIT,${CEILING + 1},550`, 'NAK,LIMIT,ceiling'],
        ['LIMIT,1023,1022', 'NAK,LIMIT,ceiling'],
        ['LIMIT,0,0', 'NAK,LIMIT,ceiling'],
        ['CEILING,1000', 'NAK,CEILING,locked'],
        ['CEILING', 'NAK,CEILING,syntax'],
        ['LIMIT,600', 'NAK,LIMIT,syntax'],
        ['LIMIT,600,550,1', 'NAK,LIMIT,syntax'],
        ['FEEDBACK,8', 'NAK,FEEDBACK,range'],
        ['FEEDBACK,-1', 'NAK,FEEDBACK,range'],
        ['FEEDBACK,x', 'NAK,FEEDBACK,syntax'],
        ['ZONE,4', 'NAK,ZONE,range'],
        ['ZONE,-1', 'NAK,ZONE,range'],
        ['ZONE', 'NAK,ZONE,syntax'],
        ['INFO,1', 'NAK,INFO,syntax'],
        ['TARE,1', 'NAK,TARE,syntax'],
      ];
      for (const [body, reply] of refused) await expectReply(`${frame(body)}\n`, reply);
      expect(await helloNow()).toBe(before);
      await expectReply(`${frame(`LIMIT,${AT_CEILING}`)}\n`, 'ACK,LIMIT');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses a LIMIT above its ceiling, or 0,0, and the alarm sounds on at the limit it had',
    async () => {
      await device.emulator.setAnalogMillivolts(millivoltsForRaw(300));
      await expectReply(`${frame('LIMIT,600,550')}\n`, 'ACK,LIMIT');
      await expectReply(`${frame(`LIMIT,${CEILING + 1},${CEILING}`)}\n`, 'NAK,LIMIT,ceiling');
      await expectReply(`${frame('LIMIT,0,0')}\n`, 'NAK,LIMIT,ceiling');
      await expectReply(`${frame('CEILING,1023')}\n`, 'NAK,CEILING,locked');
      expect(await helloNow()).toBe(frame(`HELLO,1,1.2.0,${device.hello.deviceId},fsr,100,600,550,${CEILING}`));
      const from = device.cursor();
      const atUs = await device.emulator.setAnalogMillivolts(millivoltsForRaw(650));
      const alarm = await device.nextLine((line) => line.message?.type === 'ALARM', { from, what: 'ALARM,1 at the old limit' });
      expect(alarm.message).toMatchObject({ type: 'ALARM', on: true, raw: 650 });
      await device.nextPinChange('D13', atUs, (change) => change.level > 0);
      await device.emulator.setAnalogMillivolts(millivoltsForRaw(300));
      await device.nextLine((line) => line.message?.type === 'ALARM' && !line.message.on, { from: alarm.index + 1, what: 'ALARM,0' });
      await expectReply(`${frame(`LIMIT,${AT_CEILING}`)}\n`, 'ACK,LIMIT');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers a name that is no command with unknown, echoing it only when it is 1-16 of A-Z a-z 0-9 _',
    async () => {
      const refused: [body: string, reply: string][] = [
        ['HELP', 'NAK,HELP,unknown'],
        ['info', 'NAK,info,unknown'], // names are case-sensitive
        ['LIMITS,600,550', 'NAK,LIMITS,unknown'],
        ['Rate_2,10', 'NAK,Rate_2,unknown'],
        ['A234567890123456', 'NAK,A234567890123456,unknown'],
        ['A2345678901234567', 'NAK,?,unknown'],
        ['RATE?', 'NAK,?,unknown'],
        ['BAD-NAME', 'NAK,?,unknown'],
        [' INFO', 'NAK,?,unknown'],
      ];
      for (const [body, reply] of refused) await expectReply(`${frame(body)}\n`, reply);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'answers lines it cannot read with NAK,? and the reason: checksum (wrong, missing, unframed) or syntax (empty name)',
    async () => {
      const before = await helloNow();
      const refused: [line: string, reply: string][] = [
        ['$INFO*0F\n', 'NAK,?,checksum'],
        ['$RATE,10*1F\n', 'NAK,?,checksum'],
        ['INFO\n', 'NAK,?,checksum'],
        ['$INFO\n', 'NAK,?,checksum'],
        ['$INFO*\n', 'NAK,?,checksum'],
        ['$INFO*0\n', 'NAK,?,checksum'],
        ['$INFO*0G\n', 'NAK,?,checksum'],
        ['INFO*0E\n', 'NAK,?,checksum'],
        ['$INFO*0E junk\n', 'NAK,?,checksum'],
        ['$*00\n', 'NAK,?,syntax'],
        [`${frame(',1')}\n`, 'NAK,?,syntax'],
      ];
      for (const [line, reply] of refused) await expectReply(line, reply);
      expect(await helloNow()).toBe(before);
    },
    TEST_TIMEOUT_MS,
  );

  it('accepts lowercase checksum digits and \\r\\n endings from a host', async () => {
    expect(frame('RATE,100')).toBe('$RATE,100*1F');
    await expectReply('$RATE,100*1f\n', 'ACK,RATE');
    await expectReply(`${frame('RATE,100')}\r\n`, 'ACK,RATE');
    expect((await device.request(`${frame('INFO')}\r\n`)).text).toBe(device.lines[0]?.text);
  });

  it(`allows RATE up to the link rule's limit, floor(0.9 x 115200 / 10 / 28) = ${LINK_RATE_LIMIT_HZ} Hz, and not one more`, async () => {
    expect(LINK_RATE_LIMIT_HZ).toBe(370);
    await expectReply(`${frame(`RATE,${LINK_RATE_LIMIT_HZ + 1}`)}\n`, 'NAK,RATE,range');
    await expectReply(`${frame(`RATE,${LINK_RATE_LIMIT_HZ}`)}\n`, 'ACK,RATE');
    await expectReply(`${frame('RATE,9')}\n`, 'NAK,RATE,range');
    await expectReply(`${frame('RATE,10')}\n`, 'ACK,RATE');
    await expectReply(`${frame('RATE,100')}\n`, 'ACK,RATE');
  });

  it(
    'stops S lines on STREAM,0 while seq counts on in device time; STREAM,1 resumes with the jump that shows it',
    async () => {
      // at 100 Hz for good: a rate change applies from the next sample on
      const rateAck = await device.command('RATE,100');
      const [, steady, next] = await device.samples(rateAck.index, 3);
      expect((next?.tUs ?? 0) - (steady?.tUs ?? 0)).toBe(PERIOD_US);
      const stop = await device.command('STREAM,0');
      expect(stop.text).toBe(frame('ACK,STREAM'));
      const lastBefore = device.samplesBetween(0, stop.index).at(-1);
      if (!lastBefore) throw new Error('no sample before STREAM,0');
      // 300 ms of emulated time without a single S line
      await device.untilEmulatedUs((await device.emulator.emulatedTimeUs()) + 300_000);
      const resume = await device.command('STREAM,1');
      expect(resume.text).toBe(frame('ACK,STREAM'));
      expect(device.samplesBetween(stop.index, resume.index)).toEqual([]);
      const [firstAfter] = await device.samples(resume.index, 1);
      if (!firstAfter) throw new Error('no sample after STREAM,1');
      const elapsedPeriods = (firstAfter.tUs - lastBefore.tUs) / PERIOD_US;
      expect(Number.isInteger(elapsedPeriods)).toBe(true);
      expect(elapsedPeriods).toBeGreaterThanOrEqual(30);
      expect(firstAfter.seq - lastBefore.seq).toBe(elapsedPeriods);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'shows the zone on D13: 1 steady on, 2 blinking at 1 Hz, 3 at 4 Hz (emulated half periods), 0 off; a repeated zone does not restart the blink',
    async () => {
      const halfPeriodsUs = async (zone: number, halfPeriodUs: number, edges: number): Promise<number[]> => {
        const fromUs = await device.emulator.emulatedTimeUs();
        expect((await device.command(`ZONE,${zone}`)).text).toBe(frame('ACK,ZONE'));
        const changes = [await device.nextPinChange('D13', fromUs, (change) => change.level === 1)];
        while (changes.length < edges) {
          const last = changes.at(-1)?.emulatedUs ?? fromUs;
          changes.push(await device.nextPinChange('D13', last + 1, () => true, 15_000 + (halfPeriodUs / 1000) * 20));
        }
        expect(changes.map((change) => change.level)).toEqual(changes.map((_, index) => (index % 2 === 0 ? 1 : 0)));
        return changes.slice(1).map((change, index) => change.emulatedUs - (changes[index]?.emulatedUs ?? 0));
      };

      const onAtUs = await device.emulator.emulatedTimeUs();
      expect((await device.command('ZONE,1')).text).toBe(frame('ACK,ZONE'));
      await device.nextPinChange('D13', onAtUs, (change) => change.level === 1);

      // from steady on (zone 1) to zone 0: off
      const offAtUs = await device.emulator.emulatedTimeUs();
      expect((await device.command('ZONE,0')).text).toBe(frame('ACK,ZONE'));
      await device.nextPinChange('D13', offAtUs, (change) => change.level === 0);

      for (const halfUs of await halfPeriodsUs(2, 500_000, 5)) expect(Math.abs(halfUs - 500_000)).toBeLessThanOrEqual(500);
      const zone3 = await halfPeriodsUs(3, 125_000, 9);
      for (const halfUs of zone3) expect(Math.abs(halfUs - 125_000)).toBeLessThanOrEqual(500);

      // ZONE,3 again: the rhythm goes on from where it was (no restart with an on half)
      const rhythm = device.pinChangesOf('D13', 0).at(-1);
      if (!rhythm) throw new Error('no D13 change');
      expect((await device.command('ZONE,3')).text).toBe(frame('ACK,ZONE'));
      const next = await device.nextPinChange('D13', rhythm.emulatedUs + 1, () => true);
      expect(next.level).toBe(1 - rhythm.level);
      expect(Math.abs(next.emulatedUs - rhythm.emulatedUs - 125_000)).toBeLessThanOrEqual(500);

      const endAtUs = await device.emulator.emulatedTimeUs();
      expect((await device.command('ZONE,0')).text).toBe(frame('ACK,ZONE'));
      if (device.emulator.pinLevel('D13')?.level !== 0) await device.nextPinChange('D13', endAtUs, (change) => change.level === 0);
    },
    TEST_TIMEOUT_MS,
  );

  it('answers commands written back to back in one write once each, in order', async () => {
    const from = device.cursor();
    const bodies = ['INFO', 'RATE,100', 'HELP', 'ZONE,0', 'FEEDBACK,7', 'RATE,5'];
    const burst = bodies.map((body) => `${frame(body)}\n`).join('');
    expect(burst.length).toBeLessThan(128); // the firmware's receive buffer
    await device.write(burst);
    const replies: string[] = [];
    let after = from;
    for (let index = 0; index < bodies.length; index++) {
      const reply = await device.nextLine(isReply, { from: after, what: `reply ${index + 1} of the burst` });
      replies.push(reply.text);
      after = reply.index + 1;
    }
    expect(replies).toEqual([
      device.lines[0]?.text,
      frame('ACK,RATE'),
      frame('NAK,HELP,unknown'),
      frame('ACK,ZONE'),
      frame('ACK,FEEDBACK'),
      frame('NAK,RATE,range'),
    ]);
  });

  it('sent nothing but well-formed lines, one reply per host line, with no reset and no lost byte', async () => {
    // one more round trip, so every reply owed so far has arrived
    await device.command('INFO');
    expect(device.malformedLines()).toEqual([]);
    expect(device.guardDrops).toEqual([]);
    const replies = device.lines.slice(1).filter(isReply).length;
    expect(replies).toBe(device.hostLinesSent);
    expect(device.resets).toEqual([]);
    expect(device.serialDrops).toEqual([]);
    expect(device.lines.slice(1).filter((line) => line.message?.type === 'HELLO').length).toBeGreaterThan(0);
  });
});
