/**
 * `npm run ports`: lists the machine's serial ports and says which are Knotmeters. Each
 * port found by `SerialPort.list()` or by name (/dev/ttyACM*, /dev/ttyUSB*, ...; it works
 * without udev) is opened and asked `INFO`; a Knotmeter answers `HELLO` with its id,
 * firmware, sensor and rate. The device spec to use each one is printed beside it.
 *
 *   npm run ports
 *   npm run ports -- --baud 250000 --json
 *   npm run ports -- --scan '/dev/rfcomm*' --all
 *
 * Exit code: 0 when it ran (Knotmeters found or not), 2 for a bad flag, with a
 * `knotmeter ports: ...` message on stderr naming the flag. Only the table (or, with
 * --json, the JSON) goes to stdout; notes go to stderr, so `npm run -s ports -- --json | jq` works.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
// A command-line entry point shares the CLI conventions of every command (as calibrate does).
import { checkedFlag, flagsOrExit, pathAsTyped, parseFlags, wholeNumberFlag, type CliOutput } from './support.ts';
import { DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_SCAN_PATTERNS, isBuiltInUart, listSerialPorts, probePort, type PortInfo, type ProbeResult } from '../../device/protocol/port-discovery.ts';
import { DEFAULT_BAUD_RATE } from '../../device/protocol/serial-link.ts';

const MIN_BAUD = 300;
const MAX_BAUD = 4_000_000;
const MIN_TIMEOUT_MS = 50;
const MAX_TIMEOUT_MS = 60_000;

export function portsUsage(): string {
  return [
    'Usage: npm run ports -- [--baud N] [--timeout MS] [--scan PATTERN]... [--all] [--json]',
    '',
    'Lists serial ports and asks each one INFO: a Knotmeter answers HELLO.',
    'In a pipe, keep npm\'s own banner off stdout: npm run -s ports -- --json | jq',
    '',
    `  --baud N        baud rate to ask at (${MIN_BAUD} to ${MAX_BAUD}; default ${DEFAULT_BAUD_RATE}, the firmware's build option)`,
    `  --timeout MS    how long each port has to answer (${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}; default ${DEFAULT_PROBE_TIMEOUT_MS}: an Arduino resets when opened)`,
    `  --scan PATTERN  also look at these names (a * in the last part only); default ${DEFAULT_SCAN_PATTERNS.join(' ')}`,
    '  --all           also ask built-in UARTs (/dev/ttyS*), skipped by default',
    '  --json          one JSON document instead of the table',
    '  --version       print the version and exit',
    '  --help          print this and exit',
  ].join('\n');
}

const flagSchemas = {
  baudRate: wholeNumberFlag('--baud', MIN_BAUD, MAX_BAUD, 'baud'),
  timeoutMs: wholeNumberFlag('--timeout', MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, 'milliseconds'),
  scan: z
    .string()
    .min(1, '--scan needs a device name or pattern, e.g. --scan \'/dev/rfcomm*\'')
    .refine((pattern) => !pattern.slice(0, pattern.lastIndexOf('/') + 1).includes('*'), '--scan takes a * in the last part of the name only, e.g. /dev/rfcomm*'),
};

export interface PortsOptions {
  readonly baudRate: number;
  readonly timeoutMs: number;
  readonly patterns: readonly string[];
  readonly all: boolean;
  readonly json: boolean;
  readonly help: boolean;
  readonly version: boolean;
}

interface PortReport {
  readonly path: string;
  readonly source: PortInfo['source'];
  readonly usb: string | null;
  readonly manufacturer: string | null;
  readonly knotmeter: null | { deviceId: string; firmwareVersion: string; sensor: string; rateHz: number; limitOnRaw: number; limitOffRaw: number; spec: string };
  /** `answered`, `no answer to INFO ...`, why it could not be asked (`cannot open PATH at N baud: ...`), or `not asked: ...`. */
  readonly result: string;
}

export function parsePortsArgs(argv: readonly string[]): PortsOptions {
  const { values } = parseFlags(
    argv,
    {
      baud: { type: 'string' },
      timeout: { type: 'string' },
      scan: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    { repeatable: ['scan'] },
  );
  const scans = (values.scan ?? []).map((pattern) => pathAsTyped(checkedFlag(flagSchemas.scan, pattern, '--scan'), 'ports'));
  return {
    baudRate: values.baud === undefined ? DEFAULT_BAUD_RATE : checkedFlag(flagSchemas.baudRate, values.baud, '--baud'),
    timeoutMs: values.timeout === undefined ? DEFAULT_PROBE_TIMEOUT_MS : checkedFlag(flagSchemas.timeoutMs, values.timeout, '--timeout'),
    patterns: [...DEFAULT_SCAN_PATTERNS, ...scans],
    all: values.all ?? false,
    json: values.json ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

function describeProbe(port: PortInfo, probe: ProbeResult | null, baudRate: number): PortReport {
  const usb = port.vendorId === null ? null : `${port.vendorId}:${port.productId ?? '????'}`;
  const base = { path: port.path, source: port.source, usb, manufacturer: port.manufacturer };
  if (probe === null) return { ...base, knotmeter: null, result: 'not asked: a built-in UART (add --all to ask it)' };
  if (probe.error !== null) return { ...base, knotmeter: null, result: probe.error };
  if (probe.hello === null) return { ...base, knotmeter: null, result: `no answer to INFO at ${baudRate} baud` };
  const hello = probe.hello;
  const spec = `serial:${port.path}${baudRate === DEFAULT_BAUD_RATE ? '' : `?baud=${baudRate}`}`;
  return {
    ...base,
    knotmeter: {
      deviceId: hello.deviceId,
      firmwareVersion: hello.firmwareVersion,
      sensor: hello.sensor,
      rateHz: hello.rateHz,
      limitOnRaw: hello.limitOnRaw,
      limitOffRaw: hello.limitOffRaw,
      spec,
    },
    result: 'answered',
  };
}

/** Runs the whole command; returns the exit code. Tests call it in-process. */
export async function runPorts(argv: readonly string[], output: CliOutput): Promise<number> {
  const flags = flagsOrExit(argv, output, { program: 'ports', parse: parsePortsArgs, usage: portsUsage });
  if (typeof flags === 'number') return flags;
  const { ports, listError } = await listSerialPorts({ patterns: flags.patterns });
  const reports = await Promise.all(
    ports.map(async (port) => {
      const probe = !flags.all && isBuiltInUart(port) ? null : await probePort(port.path, { baudRate: flags.baudRate, timeoutMs: flags.timeoutMs });
      return describeProbe(port, probe, flags.baudRate);
    }),
  );
  if (listError !== null) {
    output.stderr(`knotmeter ports: note: SerialPort.list() failed (${listError}): udev is probably missing here, so ports were found by name (${flags.patterns.join(' ')})\n`);
  }
  output.stdout(flags.json ? `${JSON.stringify({ baudRate: flags.baudRate, listError, ports: reports }, null, 2)}\n` : portsTable(reports));
  return 0;
}

/** The ports for people: each with what it is and, for a Knotmeter, the spec to use it with. */
function portsTable(reports: readonly PortReport[]): string {
  if (reports.length === 0) return 'No serial ports found. Plug the massager in (USB), then run this again.\n';
  let text = '';
  for (const report of reports) {
    const where = [report.usb === null ? null : `usb ${report.usb}`, report.manufacturer, report.source === 'scan' ? 'found by name' : null].filter((part) => part !== null);
    text += `${report.path}${where.length === 0 ? '' : `  (${where.join(', ')})`}\n`;
    const knotmeter = report.knotmeter;
    if (knotmeter === null) {
      text += `  not a Knotmeter: ${report.result}\n`;
    } else {
      const limit = knotmeter.limitOnRaw === 0 && knotmeter.limitOffRaw === 0 ? 'alarm off' : `alarm on at raw ${knotmeter.limitOnRaw}, off at ${knotmeter.limitOffRaw}`;
      text += `  Knotmeter ${knotmeter.deviceId}: firmware ${knotmeter.firmwareVersion}, ${knotmeter.sensor}, ${knotmeter.rateHz} Hz, ${limit}\n`;
      text += `  use it with: npm start -- --device ${knotmeter.spec}\n`;
    }
  }
  const found = reports.filter((report) => report.knotmeter !== null).length;
  return `${text}${found} Knotmeter${found === 1 ? '' : 's'} on ${reports.length} port${reports.length === 1 ? '' : 's'}.\n`;
}

// Run only as the entry point (`tsx server/cli/ports.ts`), not when a test imports it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await runPorts(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
