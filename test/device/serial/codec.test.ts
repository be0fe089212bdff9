// The line codec of protocol v1: framing and checksum, every device message with its
// field counts and ranges, the host command encoder and decoder. A line is one message or
// one drop reason, never part of one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alarmCeilingRaw, DEFAULT_ALARM_CEILING_RAW, decodeDeviceLine, encodeDeviceMessage, type DeviceMessage } from '../../../device/protocol/device-messages.ts';
import { checksumOf, frame, unframe } from '../../../device/protocol/framing.ts';
import { decodeHostLine, encodeHostCommand, HOST_COMMAND_NAMES, type HostCommand } from '../../../device/protocol/host-commands.ts';

const line = (body: string): string => frame(body);

describe('framing', () => {
  it('frames with the XOR of the body as two uppercase hex digits', () => {
    expect(checksumOf('INFO')).toBe(0x0e);
    expect(frame('INFO')).toBe('$INFO*0E');
    expect(frame('S,7,140000,512')).toBe('$S,7,140000,512*7B');
    expect(unframe('$S,7,140000,512*7B')).toEqual({ ok: true, body: 'S,7,140000,512' });
    expect(unframe('$S,7,140000,512*7B\r')).toEqual({ ok: true, body: 'S,7,140000,512' });
  });

  it.each([
    ['', 'framing'],
    ['\r', 'framing'],
    ['S,7,140000,512*7B', 'framing'],
    ['$S,7,140000,512*7b', 'checksum'],
    ['$S,7,140000,512*7C', 'checksum'],
    ['$S,7,140000,512', 'checksum'],
    ['$S,7,140000,512*7', 'checksum'],
    ['$S,7,1400$0,512*7B', 'framing'],
    ['$S,7*140000,512*7B', 'framing'],
    ['$S,7,140000,512*7B\r\r', 'not-printable'],
    ['$S,7,14\t0000,512*7B', 'not-printable'],
    ['$S,7,140000,512*7B\xe9', 'not-printable'],
  ])('%j is dropped as %s', (text, reason) => {
    expect(unframe(text)).toEqual({ ok: false, reason });
  });
});

describe('device messages', () => {
  it('decodes each message type', () => {
    expect(decodeDeviceLine(line('HELLO,1,1.2.3,1a2b3c4d,hx711,80,420000,400000'))).toEqual({
      ok: true,
      message: { type: 'HELLO', protocolVersion: 1, firmwareVersion: '1.2.3', deviceId: '1a2b3c4d', sensor: 'hx711', rateHz: 80, limitOnRaw: 420_000, limitOffRaw: 400_000 },
    });
    expect(decodeDeviceLine(line('S,65535,4294967295,-8388608'))).toEqual({ ok: true, message: { type: 'S', seq: 65_535, tUs: 4_294_967_295, raw: -8_388_608 } });
    expect(decodeDeviceLine(line('ALARM,1,123,700'), 'fsr')).toEqual({ ok: true, message: { type: 'ALARM', on: true, tUs: 123, raw: 700 } });
    expect(decodeDeviceLine(line('ACK,LIMIT'))).toEqual({ ok: true, message: { type: 'ACK', command: 'LIMIT' } });
    expect(decodeDeviceLine(line('NAK,RATE,range'))).toEqual({ ok: true, message: { type: 'NAK', command: 'RATE', reason: 'range' } });
    expect(decodeDeviceLine(line('NAK,?,checksum'))).toEqual({ ok: true, message: { type: 'NAK', command: null, reason: 'checksum' } });
    expect(decodeDeviceLine(line('FAULT,nodata'))).toEqual({ ok: true, message: { type: 'FAULT', code: 'nodata' } });
    expect(decodeDeviceLine(line('MARK,65535,4294967295'))).toEqual({ ok: true, message: { type: 'MARK', seq: 65_535, tUs: 4_294_967_295 } });
  });

  it.each([
    ['S,1,2', 'syntax'],
    ['S,1,2,3,4', 'syntax'],
    ['S,1,2,+3', 'syntax'],
    ['S,1, 2,3', 'syntax'],
    ['S,1,2,', 'syntax'],
    ['S,-,2,3', 'syntax'],
    ['S,1.5,2,3', 'syntax'],
    ['S,65536,2,3', 'range'],
    ['S,-1,2,3', 'range'],
    ['S,1,4294967296,3', 'range'],
    ['S,1,2,8388608', 'range'],
    ['S,1,2,99999999999', 'range'],
    ['S,1,2,999999999999', 'syntax'],
    ['ALARM,2,2,3', 'range'],
    ['HELLO,2,1.0.0,1a2b3c4d,fsr,100,0,0', 'version'],
    ['HELLO,1,1.0,1a2b3c4d,fsr,100,0,0', 'syntax'],
    ['HELLO,1,1.0.0,1A2B3C4D,fsr,100,0,0', 'syntax'],
    ['HELLO,1,1.0.0,00000000,fsr,100,0,0', 'range'],
    ['HELLO,1,1.0.0,ffffffff,fsr,100,0,0', 'range'],
    ['HELLO,1,1.0.0,1a2b3c4d,piezo,100,0,0', 'range'],
    ['HELLO,1,1.0.0,1a2b3c4d,hx711,100,0,0', 'range'],
    ['HELLO,1,1.0.0,1a2b3c4d,fsr,5,0,0', 'range'],
    ['HELLO,1,1.0.0,1a2b3c4d,fsr,100,500,600', 'range'],
    ['HELLO,1,1.0.0,1a2b3c4d,fsr,100,2000,10', 'range'],
    ['HELLO,1,1.0.0,1a2b3c4d,fsr,100,0', 'syntax'],
    ['HELLO,1,1.2.0,1a2b3c4d,fsr,100,700,650,767,1', 'syntax'],
    ['HELLO,1,1.2.0,1a2b3c4d,fsr,100,700,650,x', 'syntax'],
    ['HELLO,1,1.2.0,1a2b3c4d,fsr,100,700,650,', 'syntax'],
    ['HELLO,1,1.2.0,1a2b3c4d,fsr,100,700,650,0', 'range'],
    ['HELLO,1,1.2.0,1a2b3c4d,fsr,100,700,650,1024', 'range'],
    ['HELLO,1,1.2.0,1a2b3c4d,hx711,80,700,650,8388608', 'range'],
    ['NAK,LIMIT,roof', 'range'],
    ['ACK,REBOOT', 'range'],
    ['ACK', 'syntax'],
    ['NAK,RATE,tired', 'range'],
    ['NAK,BOGUS,range', 'range'],
    ['FAULT,smoke', 'range'],
    ['MARK,1', 'syntax'],
    ['MARK,1,2,3', 'syntax'],
    ['MARK,1,2.5', 'syntax'],
    ['MARK,,2', 'syntax'],
    ['MARK,65536,2', 'range'],
    ['MARK,-1,2', 'range'],
    ['MARK,1,4294967296', 'range'],
    ['', 'unknown'],
    ['PING', 'unknown'],
    ['s,1,2,3', 'unknown'],
  ])('%s is dropped as %s', (body, reason) => {
    expect(decodeDeviceLine(line(body))).toEqual({ ok: false, reason });
  });

  it('reads the alarm ceiling from a 9-field HELLO, and the sensor\'s default from an 8-field one', () => {
    const nine = decodeDeviceLine(line('HELLO,1,1.2.0,1a2b3c4d,fsr,100,767,744,767'));
    expect(nine).toEqual({
      ok: true,
      message: { type: 'HELLO', protocolVersion: 1, firmwareVersion: '1.2.0', deviceId: '1a2b3c4d', sensor: 'fsr', rateHz: 100, limitOnRaw: 767, limitOffRaw: 744, alarmCeilingRaw: 767 },
    });
    const stored = decodeDeviceLine(line('HELLO,1,1.2.0,1a2b3c4d,hx711,80,4000000,3900000,8388607'));
    if (!stored.ok || stored.message.type !== 'HELLO') throw new Error('not a HELLO');
    expect(alarmCeilingRaw(stored.message)).toBe(8_388_607);
    const eight = decodeDeviceLine(line('HELLO,1,1.1.0,1a2b3c4d,hx711,80,0,0'));
    if (!eight.ok || eight.message.type !== 'HELLO') throw new Error('not a HELLO');
    expect(eight.message.alarmCeilingRaw).toBeUndefined();
    expect(alarmCeilingRaw(eight.message)).toBe(DEFAULT_ALARM_CEILING_RAW.hx711);
    expect(DEFAULT_ALARM_CEILING_RAW).toEqual({ fsr: 767, hx711: 3_852_000 });
    expect(decodeDeviceLine(line('NAK,LIMIT,ceiling'))).toEqual({ ok: true, message: { type: 'NAK', command: 'LIMIT', reason: 'ceiling' } });
    expect(decodeDeviceLine(line('NAK,CEILING,locked'))).toEqual({ ok: true, message: { type: 'NAK', command: 'CEILING', reason: 'locked' } });
  });

  it('bounds raw values by the sensor once it is known', () => {
    expect(decodeDeviceLine(line('S,1,2,1024'))).toMatchObject({ ok: true });
    expect(decodeDeviceLine(line('S,1,2,1024'), 'fsr')).toEqual({ ok: false, reason: 'range' });
    expect(decodeDeviceLine(line('S,1,2,-1'), 'fsr')).toEqual({ ok: false, reason: 'range' });
    expect(decodeDeviceLine(line('S,1,2,-1'), 'hx711')).toMatchObject({ ok: true });
  });

  const deviceMessage: fc.Arbitrary<DeviceMessage> = fc.oneof(
    fc.record({ type: fc.constant('S' as const), seq: fc.integer({ min: 0, max: 65_535 }), tUs: fc.integer({ min: 0, max: 0xffff_ffff }), raw: fc.integer({ min: -0x80_0000, max: 0x7f_ffff }) }),
    fc.record({ type: fc.constant('ALARM' as const), on: fc.boolean(), tUs: fc.integer({ min: 0, max: 0xffff_ffff }), raw: fc.integer({ min: -0x80_0000, max: 0x7f_ffff }) }),
    fc.record({ type: fc.constant('ACK' as const), command: fc.constantFrom(...HOST_COMMAND_NAMES) }),
    fc.record({
      type: fc.constant('NAK' as const),
      command: fc.option(fc.constantFrom(...HOST_COMMAND_NAMES)),
      reason: fc.constantFrom('range' as const, 'syntax' as const, 'checksum' as const, 'unknown' as const, 'ceiling' as const, 'locked' as const),
    }),
    fc.record({ type: fc.constant('FAULT' as const), code: fc.constantFrom('nodata' as const, 'rail' as const) }),
    fc.record({ type: fc.constant('MARK' as const), seq: fc.integer({ min: 0, max: 65_535 }), tUs: fc.integer({ min: 0, max: 0xffff_ffff }) }),
    fc
      .record({
        firmwareVersion: fc.tuple(fc.nat(99), fc.nat(99), fc.nat(99)).map((parts) => parts.join('.')),
        deviceId: fc.integer({ min: 1, max: 0xffff_fffe }).map((id) => id.toString(16).padStart(8, '0')),
        rateHz: fc.integer({ min: 10, max: 80 }),
        sensor: fc.constantFrom('fsr' as const, 'hx711' as const),
        limitOffRaw: fc.integer({ min: 0, max: 1000 }),
        span: fc.integer({ min: 1, max: 23 }),
        ceiling: fc.option(fc.integer({ min: 1, max: 1023 }), { nil: undefined }),
      })
      .map(({ span, limitOffRaw, ceiling, ...rest }) => ({
        type: 'HELLO' as const,
        protocolVersion: 1 as const,
        ...rest,
        limitOffRaw,
        limitOnRaw: limitOffRaw + span,
        // 8 fields (firmware before 1.2.0) or 9 (the alarm ceiling)
        ...(ceiling === undefined ? {} : { alarmCeilingRaw: ceiling }),
      })),
  );

  it('property: every message survives encode -> decode unchanged, with \\n or \\r\\n', () => {
    fc.assert(
      fc.property(deviceMessage, fc.boolean(), (message, crlf) => {
        const text = encodeDeviceMessage(message);
        expect(text.length).toBeLessThanOrEqual(80);
        const withoutTerminator = text.slice(0, -1) + (crlf ? '\r' : '');
        expect(decodeDeviceLine(withoutTerminator)).toEqual({ ok: true, message });
      }),
      { numRuns: 1000 },
    );
  });

  /** An independent reading of a sample line: a regular expression, the checksum, the ranges (fsr). */
  function referenceSample(text: string): { seq: number; tUs: number; raw: number } | null {
    const match = /^\$(S,(-?[0-9]{1,11}),(-?[0-9]{1,11}),(-?[0-9]{1,11}))\*([0-9A-F]{2})\r?$/.exec(text);
    if (match === null) return null;
    const [, body = '', seqText = '', tText = '', rawText = '', hex = ''] = match;
    if (checksumOf(body) !== Number.parseInt(hex, 16)) return null;
    const [seq, tUs, raw] = [seqText, tText, rawText].map((field) => Number(field) || 0) as [number, number, number];
    if (seq < 0 || seq > 65_535 || tUs < 0 || tUs > 0xffff_ffff || raw < 0 || raw > 1023) return null;
    return { seq, tUs, raw };
  }

  it('property: sample lines made of their own alphabet are read exactly as a regular expression reads them', () => {
    const sampleish = fc
      .array(fc.constantFrom('0', '1', '5', '9', '-', ',', ',', ',', 'S', '$', '*', '\r', 'A', 'F', '7'), { maxLength: 30 })
      .chain((parts) => fc.constantFrom(`$S,${parts.join('')}`, frame(`S,${parts.join('')}`), `${frame(`S,${parts.join('')}`)}\r`));
    const validish = fc
      .tuple(fc.integer({ min: -5, max: 70_000 }), fc.oneof(fc.nat(), fc.constant(0xffff_ffff), fc.constant(0x1_0000_0000)), fc.integer({ min: -3, max: 1030 }), fc.boolean())
      .map(([seq, tUs, raw, leadingZero]) => frame(`S,${leadingZero ? '0' : ''}${seq},${tUs},${raw}`));
    fc.assert(
      fc.property(fc.oneof(sampleish, validish), (text) => {
        const expected = referenceSample(text);
        const result = decodeDeviceLine(text, 'fsr');
        if (expected === null) expect(result.ok && result.message.type === 'S').toBe(false);
        else expect(result).toEqual({ ok: true, message: { type: 'S', ...expected } });
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the HELLO a device sends as it reboots mid-line, after the cut line', () => {
    const hello: DeviceMessage = { type: 'HELLO', protocolVersion: 1, firmwareVersion: '1.0.0', deviceId: '1a2b3c4d', sensor: 'fsr', rateHz: 100, limitOnRaw: 0, limitOffRaw: 0 };
    const glued = `$S,15,5${encodeDeviceMessage(hello).trimEnd()}`;
    expect(decodeDeviceLine(glued)).toEqual({ ok: true, message: hello });
    expect(decodeDeviceLine('$S,15,5$HELLO,1,1.0.0*00')).toMatchObject({ ok: false });
  });

  it('property: any text decodes to a result, never a throw, and a message only from a correctly framed line (or its last frame)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 90 }), (text) => {
        const result = decodeDeviceLine(text);
        if (result.ok) expect(unframe(text.slice(Math.max(text.lastIndexOf('$'), 0))).ok).toBe(true);
        else expect(result.reason).toMatch(/^(framing|checksum|not-printable|syntax|range|unknown|version)$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('host commands', () => {
  it('encodes each command with its checksum', () => {
    expect(encodeHostCommand({ type: 'INFO' })).toBe('$INFO*0E\n');
    expect(encodeHostCommand({ type: 'STREAM', on: false })).toBe(`${frame('STREAM,0')}\n`);
    expect(encodeHostCommand({ type: 'RATE', rateHz: 100 })).toBe('$RATE,100*1F\n');
    expect(encodeHostCommand({ type: 'LIMIT', onRaw: 600, offRaw: 500 })).toBe(`${frame('LIMIT,600,500')}\n`);
    expect(encodeHostCommand({ type: 'LIMIT', onRaw: 0, offRaw: 0 })).toBe(`${frame('LIMIT,0,0')}\n`);
    expect(encodeHostCommand({ type: 'FEEDBACK', mask: 7 })).toBe(`${frame('FEEDBACK,7')}\n`);
    expect(encodeHostCommand({ type: 'ZONE', zone: 3 })).toBe(`${frame('ZONE,3')}\n`);
    expect(encodeHostCommand({ type: 'TARE' })).toBe(`${frame('TARE')}\n`);
    expect(encodeHostCommand({ type: 'CEILING', ceilingRaw: 800 })).toBe(`${frame('CEILING,800')}\n`);
  });

  it.each([
    [{ type: 'RATE', rateHz: 5 }, /rateHz/],
    [{ type: 'RATE', rateHz: 100.5 }, /rateHz/],
    [{ type: 'LIMIT', onRaw: 500, offRaw: 600 }, /offRaw < onRaw/],
    [{ type: 'LIMIT', onRaw: 500, offRaw: -1 }, /offRaw/],
    [{ type: 'FEEDBACK', mask: 8 }, /mask/],
    [{ type: 'ZONE', zone: 4 }, /zone/],
    [{ type: 'CEILING', ceilingRaw: 0 }, /ceilingRaw/],
  ])('refuses %j, naming the value', (command, message) => {
    expect(() => encodeHostCommand(command as HostCommand)).toThrow(RangeError);
    expect(() => encodeHostCommand(command as HostCommand)).toThrow(message);
  });

  const hostCommand: fc.Arbitrary<HostCommand> = fc.oneof(
    fc.constant({ type: 'INFO' as const }),
    fc.constant({ type: 'TARE' as const }),
    fc.boolean().map((on) => ({ type: 'STREAM' as const, on })),
    fc.integer({ min: 10, max: 1000 }).map((rateHz) => ({ type: 'RATE' as const, rateHz })),
    fc.tuple(fc.nat(0x7f_fffe), fc.integer({ min: 1, max: 1000 })).map(([offRaw, span]) => ({ type: 'LIMIT' as const, onRaw: Math.min(offRaw + span, 0x7f_ffff), offRaw })),
    fc.integer({ min: 0, max: 7 }).map((mask) => ({ type: 'FEEDBACK' as const, mask })),
    fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const).map((zone) => ({ type: 'ZONE' as const, zone })),
    fc.integer({ min: 1, max: 0x7f_ffff }).map((ceilingRaw) => ({ type: 'CEILING' as const, ceilingRaw })),
  );

  it('property: the device reads back exactly what the host sent', () => {
    fc.assert(
      fc.property(hostCommand, (command) => {
        expect(decodeHostLine(encodeHostCommand(command).trimEnd())).toEqual({ ok: true, command });
      }),
      { numRuns: 1000 },
    );
  });

  it('reads host lines the way the firmware answers them', () => {
    expect(decodeHostLine('$INFO*00')).toEqual({ ok: false, command: null, reason: 'checksum' });
    expect(decodeHostLine(frame('REBOOT'))).toEqual({ ok: false, command: null, reason: 'unknown' });
    expect(decodeHostLine(frame('RATE,abc'))).toEqual({ ok: false, command: 'RATE', reason: 'syntax' });
    expect(decodeHostLine(frame('RATE,1,2'))).toEqual({ ok: false, command: 'RATE', reason: 'syntax' });
    expect(decodeHostLine(frame('RATE,5'))).toEqual({ ok: false, command: 'RATE', reason: 'range' });
    expect(decodeHostLine(frame('STREAM,2'))).toEqual({ ok: false, command: 'STREAM', reason: 'range' });
  });
});
