/**
 * What answers on a serial port, for the commands that must know before they act
 * (`npm run flash` picks a board and refuses anything else; `npm run doctor` lists them):
 * our firmware (its HELLO), StandardFirmata (its firmware report), something else (what
 * it printed), nothing, or why the port would not open (missing, busy, permission).
 *
 *   const identity = await identifyPort('/dev/ttyACM0');
 *   describeIdentity(identity)   // 'Knotmeter 1a2b3c4d, firmware 1.2.0, sensor fsr'
 *
 * First at our baud rate, asking INFO as `npm run ports` does; if no HELLO came, at
 * Firmata's 57600 with a firmware query. Opening the port resets an Arduino: each phase
 * waits through the bootloader's second.
 */
import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { SerialPort } from 'serialport';
import { decodeDeviceLine, type HelloMessage } from '../../device/protocol/device-messages.ts';
import { encodeHostCommand } from '../../device/protocol/host-commands.ts';
import { DEFAULT_BAUD_RATE, openSerialPort } from '../../device/protocol/serial-link.ts';

/** StandardFirmata's speed. */
export const FIRMATA_BAUD_RATE = 57_600;
/** How long each phase waits for an answer: an Uno's Optiboot alone waits 1 s after the open's reset. */
export const IDENTIFY_TIMEOUT_MS = 2500;
/** StandardFirmata blinks its version on the LED (about 2 s) before it talks; an Uno's bootloader waits 1 s before that. */
export const FIRMATA_TIMEOUT_MS = 6000;
const FIRMWARE_REPORT = Buffer.from([0xf0, 0x79]);
const ASK_EVERY_MS = 400;
const KEEP_BYTES = 4096;

export type OpenFailure = 'missing' | 'busy' | 'permission' | 'other';

export type PortIdentity =
  | { readonly kind: 'knotmeter'; readonly hello: HelloMessage }
  | { readonly kind: 'firmata'; readonly firmware: string }
  /** It sent bytes that are neither: `sample` is the start of them, made printable. */
  | { readonly kind: 'other'; readonly sample: string }
  | { readonly kind: 'silent' }
  | { readonly kind: 'unopenable'; readonly failure: OpenFailure; readonly message: string };

/** Why an open failed, from the bindings' message. */
export function classifyOpenError(message: string): OpenFailure {
  if (/ENOENT|No such file/i.test(message)) return 'missing';
  if (/EACCES|Permission denied/i.test(message)) return 'permission';
  if (/EBUSY|lock|Resource temporarily unavailable/i.test(message)) return 'busy';
  return 'other';
}

/** The group that owns the port (dialout on Debian, uucp on Arch), or null when it cannot be read. */
export function portGroup(path: string): string | null {
  try {
    const gid = statSync(path).gid;
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((entry) => entry.split(':')[2] === String(gid));
    return line?.split(':')[0] ?? null;
  } catch {
    return null;
  }
}

/** What to do about a port that would not open, with the exact command where there is one. */
export function openFailureAdvice(path: string, failure: OpenFailure): string {
  if (failure === 'missing') return `${path} does not exist: plug the board in by USB (npm run ports lists the ports)`;
  if (failure === 'busy') return `${path} is in use by another program (npm start, a serial monitor, another flash): close it and try again`;
  if (failure === 'permission') {
    const group = portGroup(path) ?? 'dialout';
    return `permission denied on ${path}: add yourself to its group with \`sudo usermod -aG ${group} ${userInfo().username}\`, then log out and in again (or run \`newgrp ${group}\` in this shell)`;
  }
  return `${path} would not open`;
}

/** Null when the port opens (it is closed again at once), else what to do about it. */
export async function checkPortOpens(path: string): Promise<string | null> {
  try {
    const port = await openSerialPort(path, DEFAULT_BAUD_RATE);
    await new Promise<void>((resolve) => port.close(() => resolve()));
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const failure = classifyOpenError(message);
    return failure === 'other' ? message : openFailureAdvice(path, failure);
  }
}

/** One line for people. */
export function describeIdentity(identity: PortIdentity): string {
  switch (identity.kind) {
    case 'knotmeter':
      return `Knotmeter ${identity.hello.deviceId}, firmware ${identity.hello.firmwareVersion}, sensor ${identity.hello.sensor}`;
    case 'firmata':
      return `StandardFirmata (${identity.firmware})`;
    case 'other':
      return `something that is not a Knotmeter (it sent: ${identity.sample})`;
    case 'silent':
      return 'nothing answers (a board without our firmware, or not a board)';
    case 'unopenable':
      return identity.message;
  }
}

/** Opens, listens and asks; never rejects. */
export async function identifyPort(path: string, timeoutMs = IDENTIFY_TIMEOUT_MS): Promise<PortIdentity> {
  const ours = await listen(path, DEFAULT_BAUD_RATE, encodeHostCommand({ type: 'INFO' }), timeoutMs, findHello);
  if ('unopenable' in ours) return ours.unopenable;
  if (ours.found !== null) return { kind: 'knotmeter', hello: ours.found };
  const firmata = await listen(path, FIRMATA_BAUD_RATE, Buffer.from([0xf0, 0x79, 0xf7]), Math.max(timeoutMs, FIRMATA_TIMEOUT_MS), findFirmataName);
  if ('unopenable' in firmata) return firmata.unopenable;
  if (firmata.found !== null) return { kind: 'firmata', firmware: firmata.found };
  const heard = ours.bytes.length > 0 ? ours.bytes : firmata.bytes;
  return heard.length === 0 ? { kind: 'silent' } : { kind: 'other', sample: printable(heard) };
}

type Listened<T> = { readonly found: T | null; readonly bytes: Buffer } | { readonly unopenable: PortIdentity & { kind: 'unopenable' } };

async function listen<T>(path: string, baudRate: number, ask: string | Buffer, timeoutMs: number, find: (bytes: Buffer) => T | null): Promise<Listened<T>> {
  let port: SerialPort;
  try {
    port = await openSerialPort(path, baudRate);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const failure = classifyOpenError(message);
    return { unopenable: { kind: 'unopenable', failure, message: failure === 'other' ? message : openFailureAdvice(path, failure) } };
  }
  let bytes = Buffer.alloc(0);
  const found = await new Promise<T | null>((resolve) => {
    const finish = (value: T | null): void => {
      clearInterval(asking);
      clearTimeout(timer);
      port.off('data', onData);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      bytes = Buffer.concat([bytes, chunk]).subarray(-KEEP_BYTES);
      const value = find(bytes);
      if (value !== null) finish(value);
    };
    port.on('data', onData);
    port.on('error', () => finish(null));
    const asking = setInterval(() => port.write(ask), ASK_EVERY_MS);
    const timer = setTimeout(() => finish(null), timeoutMs);
    port.write(ask);
  });
  await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
  return { found, bytes };
}

function findHello(bytes: Buffer): HelloMessage | null {
  for (const line of bytes.toString('latin1').split('\n')) {
    const decoded = decodeDeviceLine(line.replace(/\r$/, ''));
    if (decoded.ok && decoded.message.type === 'HELLO') return decoded.message;
  }
  return null;
}

/** Firmata's REPORT_FIRMWARE sysex: F0 79 major minor name-as-7-bit-pairs F7 (the last whole one: a report cut by a reset may come before it). */
function findFirmataName(bytes: Buffer): string | null {
  let found: string | null = null;
  for (let start = bytes.indexOf(FIRMWARE_REPORT); start >= 0; start = bytes.indexOf(FIRMWARE_REPORT, start + 1)) {
    const body = bytes.subarray(start + FIRMWARE_REPORT.length);
    const end = body.findIndex((byte) => byte >= 0x80);
    if (end < 2 || body[end] !== 0xf7 || end % 2 !== 0) continue;
    let name = '';
    for (let at = 2; at + 1 < end; at += 2) name += String.fromCharCode((body[at] ?? 0) | ((body[at + 1] ?? 0) << 7));
    found = `${name} ${body[0]}.${body[1]}`;
  }
  return found;
}

function printable(bytes: Buffer): string {
  const text = bytes.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `"${text}"${bytes.length > 40 ? ` (${bytes.length} bytes)` : ''}`;
}
