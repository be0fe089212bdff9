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
 * Exit code: 0 when it ran (Knotmeters found or not), 2 for a bad flag.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_SCAN_PATTERNS, isBuiltInUart, listSerialPorts, probePort, type PortInfo, type ProbeResult } from './protocol/port-discovery.ts';
import { DEFAULT_BAUD_RATE } from './protocol/serial-link.ts';

const USAGE = [
  'Usage: npm run ports -- [--baud N] [--timeout MS] [--scan PATTERN]... [--all] [--json]',
  '',
  'Lists serial ports and asks each one INFO: a Knotmeter answers HELLO.',
  '',
  `  --baud N        baud rate to ask at (default ${DEFAULT_BAUD_RATE}; the firmware's build option)`,
  `  --timeout MS    how long each port has to answer (default ${DEFAULT_PROBE_TIMEOUT_MS}: an Arduino resets when opened)`,
  `  --scan PATTERN  also look at these names (a * in the last part); default ${DEFAULT_SCAN_PATTERNS.join(' ')}`,
  '  --all           also ask built-in UARTs (/dev/ttyS*), skipped by default',
  '  --json          one JSON document instead of the table',
].join('\n');

const flagsSchema = z.strictObject({
  baudRate: z.coerce.number().int().min(300).max(4_000_000),
  timeoutMs: z.coerce.number().int().min(50).max(60_000),
});

class UsageError extends Error {}

interface PortReport {
  readonly path: string;
  readonly source: PortInfo['source'];
  readonly usb: string | null;
  readonly manufacturer: string | null;
  readonly knotmeter: null | { deviceId: string; firmwareVersion: string; sensor: string; rateHz: number; limitOnRaw: number; limitOffRaw: number; spec: string };
  /** `answered`, `no answer`, `cannot open: ...`, or `not asked: ...`. */
  readonly result: string;
}

function parseFlags(argv: readonly string[]): { baudRate: number; timeoutMs: number; patterns: string[]; all: boolean; json: boolean; help: boolean } {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        baud: { type: 'string' },
        timeout: { type: 'string' },
        scan: { type: 'string', multiple: true },
        all: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const flags = flagsSchema.safeParse({ baudRate: values.baud ?? DEFAULT_BAUD_RATE, timeoutMs: values.timeout ?? DEFAULT_PROBE_TIMEOUT_MS });
  if (!flags.success) {
    const issue = flags.error.issues[0];
    const flag = issue?.path[0] === 'baudRate' ? `--baud ${values.baud ?? ''}` : `--timeout ${values.timeout ?? ''}`;
    throw new UsageError(`${flag}: ${issue?.path[0] === 'baudRate' ? 'a whole number of baud from 300 to 4000000' : 'a whole number of milliseconds from 50 to 60000'}`);
  }
  return { ...flags.data, patterns: [...DEFAULT_SCAN_PATTERNS, ...(values.scan ?? [])], all: values.all ?? false, json: values.json ?? false, help: values.help ?? false };
}

function describeProbe(port: PortInfo, probe: ProbeResult | null, baudRate: number): PortReport {
  const usb = port.vendorId === null ? null : `${port.vendorId}:${port.productId ?? '????'}`;
  const base = { path: port.path, source: port.source, usb, manufacturer: port.manufacturer };
  if (probe === null) return { ...base, knotmeter: null, result: 'not asked: a built-in UART (add --all to ask it)' };
  if (probe.error !== null) return { ...base, knotmeter: null, result: `cannot open: ${probe.error}` };
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

async function main(argv: readonly string[]): Promise<number> {
  let flags;
  try {
    flags = parseFlags(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`ports: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { ports, listError } = await listSerialPorts({ patterns: flags.patterns });
  const reports = await Promise.all(
    ports.map(async (port) => {
      const probe = !flags.all && isBuiltInUart(port) ? null : await probePort(port.path, { baudRate: flags.baudRate, timeoutMs: flags.timeoutMs });
      return describeProbe(port, probe, flags.baudRate);
    }),
  );
  const listNote =
    listError === null ? null : `SerialPort.list() failed (${listError}): udev is probably missing here, so ports were found by name (${flags.patterns.join(' ')})`;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ baudRate: flags.baudRate, listError, ports: reports }, null, 2)}\n`);
    return 0;
  }
  if (listNote !== null) process.stdout.write(`note: ${listNote}\n`);
  if (reports.length === 0) {
    process.stdout.write('No serial ports found. Plug the massager in (USB), then run this again.\n');
    return 0;
  }
  for (const report of reports) {
    const where = [report.usb === null ? null : `usb ${report.usb}`, report.manufacturer, report.source === 'scan' ? 'found by name' : null].filter((part) => part !== null);
    process.stdout.write(`${report.path}${where.length === 0 ? '' : `  (${where.join(', ')})`}\n`);
    const knotmeter = report.knotmeter;
    if (knotmeter === null) {
      process.stdout.write(`  not a Knotmeter: ${report.result}\n`);
    } else {
      const limit = knotmeter.limitOnRaw === 0 && knotmeter.limitOffRaw === 0 ? 'alarm off' : `alarm on at raw ${knotmeter.limitOnRaw}, off at ${knotmeter.limitOffRaw}`;
      process.stdout.write(`  Knotmeter ${knotmeter.deviceId}: firmware ${knotmeter.firmwareVersion}, ${knotmeter.sensor}, ${knotmeter.rateHz} Hz, ${limit}\n`);
      process.stdout.write(`  use it with: npm start -- --device ${knotmeter.spec}\n`);
    }
  }
  const found = reports.filter((report) => report.knotmeter !== null).length;
  process.stdout.write(`${found} Knotmeter${found === 1 ? '' : 's'} on ${reports.length} port${reports.length === 1 ? '' : 's'}.\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
