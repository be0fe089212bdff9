/**
 * Finding Knotmeters: lists the machine's serial ports and asks each one `INFO`; a
 * Knotmeter answers `HELLO` with its id. Used by the serial transport's auto-detect
 * (`--device serial`) and by `npm run ports`.
 *
 * `SerialPort.list()` needs udev (`udevadm`) on Linux and rejects without it (containers,
 * CI), so the list is always completed by scanning the usual device names
 * (/dev/ttyACM*, /dev/ttyUSB*, ...): a port is found either way.
 *
 *   const { ports } = await listSerialPorts();
 *   const probe = await probePort(ports[0].path, { baudRate: 115200 });  // probe.hello?.deviceId
 */
import { readdir, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SerialPort } from 'serialport';
import type { HelloMessage } from './device-messages.ts';
import { encodeHostCommand } from './host-commands.ts';
import { SerialLink, type SerialLinkHandlers } from './serial-link.ts';

/** Device names scanned besides `SerialPort.list()`: USB CDC (Arduino Uno R3, Leonardo), USB-serial adapters, Pi UARTs, macOS. */
export const DEFAULT_SCAN_PATTERNS: readonly string[] = ['/dev/ttyACM*', '/dev/ttyUSB*', '/dev/ttyAMA*', '/dev/cu.usbmodem*', '/dev/cu.usbserial*'];

/** Long enough for an Arduino that resets when its port opens (the bootloader waits 1-2 s). */
export const DEFAULT_PROBE_TIMEOUT_MS = 2500;
const PROBE_INFO_INTERVAL_MS = 400;

export interface PortInfo {
  readonly path: string;
  /** The device node behind the path (symlinks resolved), to tell two names of one port apart. */
  readonly realPath: string;
  readonly manufacturer: string | null;
  readonly vendorId: string | null;
  readonly productId: string | null;
  readonly serialNumber: string | null;
  /** `list`: from SerialPort.list(); `scan`: found by name only. */
  readonly source: 'list' | 'scan';
}

/** What `SerialPort.list()` returns, as far as discovery uses it. */
export interface ListedPort {
  readonly path: string;
  readonly manufacturer?: string | undefined;
  readonly vendorId?: string | undefined;
  readonly productId?: string | undefined;
  readonly serialNumber?: string | undefined;
}

export interface ListSerialPortsOptions {
  /** Names to scan (a `*` in the last part only); default DEFAULT_SCAN_PATTERNS. */
  readonly patterns?: readonly string[];
  /** The port lister; default SerialPort.list (replaceable to test a machine without udev). */
  readonly list?: () => Promise<readonly ListedPort[]>;
}

export interface SerialPortList {
  readonly ports: PortInfo[];
  /** Why SerialPort.list() failed (e.g. `spawn udevadm ENOENT`), or null. The scan still ran. */
  readonly listError: string | null;
}

/** Every serial port found by the lister or the scan, one entry per device node, sorted by path. */
export async function listSerialPorts(options: ListSerialPortsOptions = {}): Promise<SerialPortList> {
  const list = options.list ?? (() => SerialPort.list());
  let listed: readonly ListedPort[] = [];
  let listError: string | null = null;
  try {
    listed = await list();
  } catch (error) {
    listError = error instanceof Error ? error.message : String(error);
  }
  const scanned = (await Promise.all((options.patterns ?? DEFAULT_SCAN_PATTERNS).map(expandPattern))).flat();
  const byRealPath = new Map<string, PortInfo>();
  for (const port of listed) {
    const realPath = await resolvePath(port.path);
    if (byRealPath.has(realPath)) continue;
    byRealPath.set(realPath, {
      path: port.path,
      realPath,
      manufacturer: port.manufacturer ?? null,
      vendorId: port.vendorId ?? null,
      productId: port.productId ?? null,
      serialNumber: port.serialNumber ?? null,
      source: 'list',
    });
  }
  for (const path of scanned) {
    const realPath = await resolvePath(path);
    if (byRealPath.has(realPath)) continue;
    byRealPath.set(realPath, { path, realPath, manufacturer: null, vendorId: null, productId: null, serialNumber: null, source: 'scan' });
  }
  const ports = [...byRealPath.values()].sort((a, b) => a.path.localeCompare(b.path));
  return { ports, listError };
}

/**
 * A motherboard's own UART (/dev/ttyS0...) that udev lists whether or not anything is
 * wired to it: not worth opening during auto-detect (name it explicitly to use one).
 */
export function isBuiltInUart(port: PortInfo): boolean {
  return /^\/dev\/ttyS[0-9]+$/.test(port.path) && port.vendorId === null;
}

async function resolvePath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

/** `dir/prefix*suffix` -> the existing entries of dir that match (no `*` in dir itself). */
async function expandPattern(pattern: string): Promise<string[]> {
  const directory = dirname(pattern);
  const namePattern = basename(pattern);
  const escaped = namePattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  const matcher = new RegExp(`^${escaped}$`);
  try {
    const names = await readdir(directory);
    return names.filter((name) => matcher.test(name)).map((name) => join(directory, name));
  } catch {
    return []; // no such directory on this machine (e.g. /dev/serial without udev)
  }
}

export interface ProbeOptions {
  readonly baudRate: number;
  readonly timeoutMs?: number;
  /** Keep the port open when a Knotmeter answers, and return it as `link` (the caller owns it then). */
  readonly keepOpen?: boolean;
}

export interface ProbeResult {
  readonly path: string;
  /** The device's HELLO, or null if it never answered. */
  readonly hello: HelloMessage | null;
  /** Why the port could not be asked (it would not open), or null. */
  readonly error: string | null;
  /** With `keepOpen` and a HELLO: the open link. Its handlers do nothing until replaced with `setHandlers`. */
  readonly link: SerialLink | null;
}

/** Opens a port, sends `INFO` every 400 ms (or a third of the timeout), and waits for a `HELLO` until the timeout. */
export async function probePort(path: string, options: ProbeOptions): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  let onHello: (hello: HelloMessage) => void = () => undefined;
  const answered = new Promise<HelloMessage | null>((resolve) => {
    onHello = resolve;
  });
  let closedEarly: (reason: string) => void = () => undefined;
  const closed = new Promise<string>((resolve) => {
    closedEarly = resolve;
  });
  const handlers: SerialLinkHandlers = {
    onMessage: (message) => {
      if (message.type === 'HELLO') onHello(message);
    },
    onDrop: () => undefined,
    onClose: (reason) => closedEarly(reason),
  };
  let link: SerialLink;
  try {
    link = await SerialLink.open(path, options.baudRate, handlers);
  } catch (error) {
    return { path, hello: null, error: error instanceof Error ? error.message : String(error), link: null };
  }
  const info = encodeHostCommand({ type: 'INFO' });
  const sendInfo = (): void => {
    if (link.isOpen) link.write(info);
  };
  sendInfo();
  // At least three asks within the timeout: the first may be flushed by the device side opening late.
  const ticker = setInterval(sendInfo, Math.min(PROBE_INFO_INTERVAL_MS, timeoutMs / 3));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  const outcome = await Promise.race([answered, timedOut, closed.then((reason) => ({ closed: reason }))]);
  clearInterval(ticker);
  clearTimeout(timer);
  if (outcome !== null && 'closed' in outcome) return { path, hello: null, error: outcome.closed, link: null };
  const keep = outcome !== null && options.keepOpen === true;
  if (keep) {
    link.setHandlers({ onMessage: () => undefined, onDrop: () => undefined, onClose: () => undefined });
    return { path, hello: outcome, error: null, link };
  }
  await link.close();
  return { path, hello: outcome, error: null, link: null };
}
