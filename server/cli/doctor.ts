/**
 * `npm run doctor`: checks, in order, what the project needs on this machine and says what
 * to do about each failure: the Node version; the system packages for each goal (run,
 * build the firmware, flash, the emulator, the tests: test/system-deps.sh is the one list);
 * permission to open serial ports (group membership, with the exact command); the ports
 * and what answers on each (our firmware and its version, StandardFirmata, nothing); a
 * firmware older than the one this checkout ships (with the flash command); the data
 * directory and the database, writable; the calibration profile of each Knotmeter found.
 *
 *   npm run doctor
 *   npm run doctor -- --data-dir /srv/knotmeter --scan '/dev/rfcomm*'
 *
 * Each line starts with `ok`, `warn` (worth knowing, not a failure) or `FAIL`, and a
 * failure's next line starts with `do:`. Exit code: 0 no failure, 1 some, 2 a bad flag.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { checkedFlag, flagsOrExit, pathAsTyped, parseFlags, type CliOutput } from './support.ts';
import { describeIdentity, identifyPort, portGroup, type PortIdentity } from './port-identity.ts';
import { DEFAULT_DATA_DIR, FileProfileStore } from '../../calibration/store.ts';
import { DEFAULT_SCAN_PATTERNS, isBuiltInUart, listSerialPorts, type ListSerialPortsOptions } from '../../device/protocol/port-discovery.ts';
import { DEFAULT_DB_PATH } from '../recording/recording.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SYSTEM_DEPS = join(REPO_ROOT, 'test', 'system-deps.sh');
const FIRMWARE_SOURCE = join(REPO_ROOT, 'device', 'firmware', 'src', 'core', 'knotmeter.cpp');

/** The goals test/system-deps.sh knows, in the order a maker meets them. */
const GOALS = [
  { goal: 'run', what: 'run the server (npm start)' },
  { goal: 'firmware', what: 'build the firmware (npm run firmware)' },
  { goal: 'flash', what: 'flash a board (npm run flash)' },
  { goal: 'emulator', what: 'run the emulated massager' },
  { goal: 'tests', what: 'run the tests (npm test)' },
] as const;

export function doctorUsage(): string {
  return [
    'Usage: npm run doctor -- [--data-dir DIR] [--db FILE] [--scan PATTERN]...',
    '',
    'Checks Node, the system packages, serial permissions, the ports and what answers there,',
    'the firmware version of each Knotmeter, the data directory and database, and each',
    'Knotmeter\'s calibration profile; says what to do for each failure.',
    '',
    '  --data-dir DIR  the data directory to check (as npm start takes it; default data/)',
    '  --db FILE       the database to check (default DIR/knotmeter.db)',
    `  --scan PATTERN  also look at these names (a * in the last part only); default ${DEFAULT_SCAN_PATTERNS.join(' ')}`,
    '  --version       print the version and exit',
    '  --help          print this and exit',
  ].join('\n');
}

export type Status = 'ok' | 'warn' | 'FAIL';
export interface Finding {
  readonly status: Status;
  readonly text: string;
  /** What to do (a failure always has it). */
  readonly fix?: string;
}

/** What the checks read from the machine; tests replace the port lister and the shipped version. */
export interface DoctorEnvironment {
  readonly nodeVersion?: string;
  readonly listPorts?: ListSerialPortsOptions['list'];
  readonly defaultPatterns?: readonly string[];
  readonly shippedVersion?: string;
}

interface DoctorOptions {
  readonly dataDir: string;
  readonly db: string;
  readonly extraPatterns: readonly string[];
  readonly help: boolean;
  readonly version: boolean;
}

const pathFlag = (flag: string, example: string) => z.string().trim().min(1, `${flag} needs a path, e.g. ${flag} ${example}`);

function parseDoctorArgs(argv: readonly string[]): DoctorOptions {
  const { values } = parseFlags(
    argv,
    {
      'data-dir': { type: 'string' },
      db: { type: 'string' },
      scan: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    { repeatable: ['scan'] },
  );
  const dataDir = values['data-dir'] === undefined ? DEFAULT_DATA_DIR : pathAsTyped(checkedFlag(pathFlag('--data-dir', 'data'), values['data-dir'], '--data-dir'), 'doctor');
  const db = values.db !== undefined ? pathAsTyped(checkedFlag(pathFlag('--db', 'data/knotmeter.db'), values.db, '--db'), 'doctor') : values['data-dir'] === undefined ? DEFAULT_DB_PATH : join(dataDir, 'knotmeter.db');
  return {
    dataDir,
    db,
    extraPatterns: (values.scan ?? []).map((pattern) => pathAsTyped(pattern, 'doctor')),
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

/** Runs every check; returns the exit code. */
export async function runDoctor(argv: readonly string[], output: CliOutput, environment: DoctorEnvironment = {}): Promise<number> {
  const flags = flagsOrExit(argv, output, { program: 'doctor', parse: parseDoctorArgs, usage: doctorUsage });
  if (typeof flags === 'number') return flags;
  const findings: Finding[] = [];
  const report = (found: readonly Finding[]): void => {
    for (const finding of found) {
      findings.push(finding);
      output.stdout(`${finding.status.padEnd(4)}  ${finding.text}\n${finding.fix === undefined ? '' : `      do: ${finding.fix}\n`}`);
    }
  };
  report([checkNode(environment.nodeVersion ?? process.versions.node)]);
  report(await checkSystemPackages());
  report([checkSerialPermissions()]);
  const ports = await checkPorts(flags, environment);
  report(ports.findings);
  report(checkFirmwareVersions(ports.knotmeters, environment.shippedVersion ?? shippedFirmwareVersion()));
  report(checkStorage(flags));
  report(checkCalibration(flags.dataDir, ports.knotmeters));
  const failures = findings.filter((finding) => finding.status === 'FAIL').length;
  output.stdout(failures === 0 ? 'Everything checks out.\n' : `${failures} problem${failures === 1 ? '' : 's'} found: see the do: lines above.\n`);
  return failures === 0 ? 0 : 1;
}

// ---------------------------------------------------------------- Node and packages

/** Node against package.json's engines range (a `>=X.Y.Z`). */
export function checkNode(version: string): Finding {
  const packageJson = z.object({ engines: z.object({ node: z.string() }) }).parse(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')));
  const needed = packageJson.engines.node.replace(/^>=\s*/, '');
  if (compareVersions(version, needed) >= 0) return { status: 'ok', text: `Node ${version} (the project needs ${needed} or later)` };
  return { status: 'FAIL', text: `Node ${version} is too old: the project needs ${needed} or later`, fix: `install Node 20 (${needed} or later), e.g. from https://nodejs.org or with nvm: nvm install 20` };
}

/** -1, 0, 1 for dotted versions (a pre-release suffix is ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string): number[] => version.replace(/^v/, '').split(/[-+]/)[0]?.split('.').map(Number) ?? [];
  const [left, right] = [parts(a), parts(b)];
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

async function checkSystemPackages(): Promise<Finding[]> {
  const missingPerGoal = await Promise.all(GOALS.map(async ({ goal }) => missingPackages(goal)));
  return GOALS.map(({ what }, index) => {
    const missing = missingPerGoal[index] ?? [];
    if (missing.length === 0) return { status: 'ok', text: `system packages to ${what}: all installed` };
    return {
      status: 'FAIL',
      text: `system packages to ${what}: missing ${missing.join(' ')}`,
      fix: `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}   (all at once: sudo bash test/system-deps.sh)`,
    } satisfies Finding;
  });
}

function missingPackages(goal: string): Promise<string[]> {
  return new Promise((resolveMissing) => {
    const child = spawn('bash', [SYSTEM_DEPS, '--missing', goal], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', () => resolveMissing(['bash']));
    child.on('close', () => resolveMissing(text.split('\n').filter((line) => line !== '')));
  });
}

// ---------------------------------------------------------------- serial

/** The groups this process is in, by name. */
function myGroups(): Set<string> {
  const byGid = new Map(readFileSync('/etc/group', 'utf8').split('\n').map((line) => line.split(':')).map((fields) => [Number(fields[2]), fields[0] ?? '']));
  return new Set((process.getgroups?.() ?? []).map((gid) => byGid.get(gid) ?? String(gid)));
}

function checkSerialPermissions(): Finding {
  if (process.getuid?.() === 0) return { status: 'ok', text: 'serial permissions: running as root, every port may be opened' };
  const seen = ['/dev/ttyACM0', '/dev/ttyUSB0', '/dev/ttyS0'].find((path) => existsSync(path));
  const group = (seen === undefined ? null : portGroup(seen)) ?? 'dialout';
  const user = userInfo().username;
  if (myGroups().has(group)) return { status: 'ok', text: `serial permissions: ${user} is in ${group}, the group of the serial ports` };
  return {
    status: 'FAIL',
    text: `serial permissions: ${user} is not in ${group}, the group that may open serial ports${seen === undefined ? '' : ` (${seen})`}`,
    fix: `sudo usermod -aG ${group} ${user}   then log out and in again (or: newgrp ${group})`,
  };
}

interface FoundKnotmeter {
  readonly path: string;
  readonly identity: Extract<PortIdentity, { kind: 'knotmeter' }>;
}

async function checkPorts(flags: DoctorOptions, environment: DoctorEnvironment): Promise<{ findings: Finding[]; knotmeters: FoundKnotmeter[] }> {
  const patterns = [...(environment.defaultPatterns ?? DEFAULT_SCAN_PATTERNS), ...flags.extraPatterns];
  const { ports } = await listSerialPorts({ patterns, ...(environment.listPorts === undefined ? {} : { list: environment.listPorts }) });
  const asked = ports.filter((port) => !isBuiltInUart(port));
  if (asked.length === 0) {
    return { findings: [{ status: 'warn', text: `ports: none found (looked at ${patterns.join(', ')}): plug the massager in by USB; without one, npm start runs the simulator` }], knotmeters: [] };
  }
  const answers = await Promise.all(asked.map(async (port) => ({ path: port.path, identity: await identifyPort(port.path) })));
  const findings = answers.map(({ path, identity }): Finding => {
    if (identity.kind === 'unopenable') return { status: 'FAIL', text: `port ${path}: ${identity.message}`, fix: identity.message.replace(/^[^:]*: /, '') };
    return { status: identity.kind === 'knotmeter' ? 'ok' : 'warn', text: `port ${path}: ${describeIdentity(identity)}` };
  });
  const knotmeters = answers.filter((answer): answer is FoundKnotmeter => answer.identity.kind === 'knotmeter');
  if (knotmeters.length === 0) findings.push({ status: 'warn', text: 'no Knotmeter answered: flash one with npm run flash' });
  return { findings, knotmeters };
}

// ---------------------------------------------------------------- firmware

/** The version this checkout's firmware source declares (what `npm run flash` would put on a board). */
export function shippedFirmwareVersion(): string {
  const declared = /kFirmwareVersion\[\] = "([^"]+)"/.exec(readFileSync(FIRMWARE_SOURCE, 'utf8'))?.[1];
  if (declared === undefined) throw new Error(`no kFirmwareVersion in ${FIRMWARE_SOURCE}`);
  return declared;
}

function checkFirmwareVersions(knotmeters: readonly FoundKnotmeter[], shipped: string): Finding[] {
  return knotmeters.map(({ path, identity }) => {
    const { deviceId, firmwareVersion, sensor } = identity.hello;
    if (compareVersions(firmwareVersion, shipped) >= 0) return { status: 'ok', text: `firmware of ${deviceId} on ${path}: ${firmwareVersion}, current` } satisfies Finding;
    return {
      status: 'FAIL',
      text: `firmware of ${deviceId} on ${path}: ${firmwareVersion}, older than the ${shipped} this checkout ships`,
      fix: `npm run flash -- --port ${path} --sensor ${sensor}`,
    } satisfies Finding;
  });
}

// ---------------------------------------------------------------- storage and calibration

function checkStorage(flags: DoctorOptions): Finding[] {
  return [checkWritableDirectory(flags.dataDir, 'data directory'), ...(dirname(flags.db) === flags.dataDir ? [] : [checkWritableDirectory(dirname(flags.db), 'database directory')]), checkDatabase(flags.db)];
}

function checkWritableDirectory(directory: string, what: string): Finding {
  const doInstead = '(or pass --data-dir DIR somewhere you may write)';
  if (!existsSync(directory)) {
    const ancestor = nearestExisting(directory);
    if (!statSync(ancestor).isDirectory()) return { status: 'FAIL', text: `${what} ${directory}: cannot be made, ${ancestor} is a file`, fix: `move ${ancestor} aside ${doInstead}` };
    if (isWritable(ancestor)) return { status: 'ok', text: `${what} ${directory}: not made yet; it will be (${ancestor} is writable)` };
    return { status: 'FAIL', text: `${what} ${directory}: missing, and ${ancestor} is not writable`, fix: `sudo install -d -o ${userInfo().username} ${directory}   ${doInstead}` };
  }
  const probe = join(directory, `.doctor-${process.pid}`);
  try {
    writeFileSync(probe, '');
    unlinkSync(probe);
    return { status: 'ok', text: `${what} ${directory}: writable` };
  } catch (error) {
    return { status: 'FAIL', text: `${what} ${directory}: not writable (${errorCode(error)})`, fix: `sudo chown -R ${userInfo().username} ${directory}   ${doInstead}` };
  }
}

/** The path itself or its closest ancestor that exists. */
function nearestExisting(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

function checkDatabase(path: string): Finding {
  if (!existsSync(path)) return { status: 'ok', text: `database ${path}: not made yet; npm start makes it` };
  try {
    const db = new Database(path, { fileMustExist: true, timeout: 2000 });
    try {
      // a write lock taken and given back: proves the file and its journal may be written
      db.exec('BEGIN IMMEDIATE; ROLLBACK;');
    } finally {
      db.close();
    }
    return { status: 'ok', text: `database ${path}: opens and takes writes` };
  } catch (error) {
    return { status: 'FAIL', text: `database ${path}: ${error instanceof Error ? error.message : String(error)}`, fix: `sudo chown ${userInfo().username} ${path}* ${dirname(path)}   (a server holding it busy: stop it and run the doctor again)` };
  }
}

function checkCalibration(dataDir: string, knotmeters: readonly FoundKnotmeter[]): Finding[] {
  const store = new FileProfileStore(dataDir);
  return knotmeters.map(({ path, identity }): Finding => {
    const { deviceId, sensor } = identity.hello;
    const calibrate = `npm run calibrate -- --device serial:${path}${dataDir === DEFAULT_DATA_DIR ? '' : ` --data-dir ${dataDir}`}`;
    let active;
    try {
      active = store.active(deviceId);
    } catch (error) {
      return { status: 'FAIL', text: `calibration of ${deviceId}: ${error instanceof Error ? error.message : String(error)}`, fix: `move the broken file aside, then ${calibrate}` };
    }
    if (active === null) return { status: 'warn', text: `calibration of ${deviceId}: none saved (${store.pathOf(deviceId)}); forces use the ${sensor} default curve, good to about ±30 %: calibrate with ${calibrate}` };
    if (active.sensor !== sensor) {
      return { status: 'FAIL', text: `calibration of ${deviceId}: made for the ${active.sensor} build, but the device now runs ${sensor}`, fix: calibrate };
    }
    return { status: 'ok', text: `calibration of ${deviceId}: ${active.reason === 'tare' ? 're-tare' : 'fit'} of ${active.createdAt}, ${active.sensor}, ${active.points.length} points, contact area ${active.areaCm2} cm²` };
  });
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}

function isWritable(directory: string): boolean {
  try {
    accessSync(directory, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

// Run only as the entry point (`tsx server/cli/doctor.ts`), not when a test imports it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  process.exitCode = await runDoctor(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
