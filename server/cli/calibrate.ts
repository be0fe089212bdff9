/**
 * `npm run calibrate`: calibration from the terminal.
 *
 *   npm run calibrate -- [wizard] --device SPEC [--data-dir DIR] [--area-cm2 A] [--seed N]
 *       the wizard: tare, known loads one by one, fit, save (see calibration/wizard.ts)
 *   npm run calibrate -- fit --device-id ID --sensor fsr|hx711 --point RAW:NEWTONS ... [--tare RAW] [--area-cm2 A] [--data-dir DIR] [--json] [--confirm-change]
 *       fits the points, saves the profile (added to the device's history) and prints it;
 *       a profile that moves forces by more than 25 % is saved only with --confirm-change
 *   npm run calibrate -- convert --device-id ID [--unit UNIT] [--data-dir DIR] RAW ...
 *       prints the forces of raw counts through the device's profile, as a JSON array
 *   npm run calibrate -- show ID [--data-dir DIR] [--json]
 *       prints the profile in force and the device's history
 *   npm run calibrate -- COMMAND --help, --help, --version
 *
 * Profiles live in DIR/calibration/ID.json; DIR is the server's `--data-dir` (default
 * `data`). Exit 0 on success; 2 on a wrong flag, a bad point, an unknown device or a
 * corrupt profile file (nothing saved), with a message naming it; 1 when the machine
 * fails the command: the device, a data directory that cannot be read or written, or the
 * wizard's input ending before saving.
 */
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { DEVICE_ID_FORM, DEVICE_ID_PATTERN, deviceIdSchema } from '../../device/device-id.ts';
import { DeviceSpecError } from '../../device/device-spec.ts';
import type { SensorKind } from '../../device/transport.ts';
import { calibrationChange, CONFIRM_CHANGE_ABOVE } from '../../calibration/change.ts';
import { CALIBRATE_HINT, CalibrationError, fitCalibration, type CalibrationPoint } from '../../calibration/fit.ts';
import { SENSOR_RAW_RANGE } from '../../calibration/model.ts';
import { newProfileEntry, profileCalibration, type ProfileEntry } from '../../calibration/profile.ts';
import { profileReport } from '../../calibration/report.ts';
import { DEFAULT_DATA_DIR, FileProfileStore, ProfileFileError, ProfileStorageError } from '../../calibration/store.ts';
import { DEFAULT_CONTACT_AREA_CM2, FORCE_UNITS, LoadError, parseLoad, toDisplay } from '../../calibration/units.ts';
import { checkedFlag, EXIT_USAGE, parseFlags, pathAsTyped, UsageError, versionText, wholeNumberFlag } from './support.ts';

const FLAG_TEXT = {
  device: '  --device SPEC    the device to calibrate, as for npm start (sim:weights?gain=1.2 is a simulated calibration bench)',
  dataDir: `  --data-dir DIR   where profiles are kept (DIR/calibration/ID.json), the server's --data-dir (default ${DEFAULT_DATA_DIR})`,
  deviceId: '  --device-id ID   the device, 8 hex digits as the dashboard shows it',
  sensor: '  --sensor KIND    fsr (force-sensing resistor on A0) or hx711 (load cell)',
  point: '  --point RAW:LOAD a raw count and its known load: newtons, or with a unit (512:1kg, 512:500g, 512:2lb); repeat per point',
  tare: '  --tare RAW       the raw count with nothing on the tip (default 0); for an hx711 it is also a point at 0 N, so --tare and one --point make a two-point calibration',
  areaCm2: `  --area-cm2 A     the tip's contact area, for kPa and kgf/cm² (default: the current profile's, else ${DEFAULT_CONTACT_AREA_CM2})`,
  unit: `  --unit UNIT      convert into ${FORCE_UNITS.join(', ')} (default N; pressures use the profile's contact area)`,
  seed: '  --seed N         seed for a simulated device (the closing hint repeats it, so npm start runs the same device)',
  json: '  --json           print as JSON',
  help: '  --help           print this and exit',
} as const;

const COMMAND_PAGES = {
  wizard: [
    'Usage: npm run calibrate -- [wizard] --device SPEC [--data-dir DIR] [--area-cm2 A] [--seed N]',
    '  The wizard: tare with nothing on the tip, then known masses one by one (each captured once it has settled),',
    '  the fit with its residual table and a plot, then save. Answers are read line by line, so a script can give them.',
    '',
    'Flags:',
    FLAG_TEXT.device,
    FLAG_TEXT.dataDir,
    FLAG_TEXT.areaCm2,
    FLAG_TEXT.seed,
    FLAG_TEXT.help,
  ],
  fit: [
    'Usage: npm run calibrate -- fit --device-id ID --sensor fsr|hx711 --point RAW:LOAD ... [--tare RAW] [--area-cm2 A] [--data-dir DIR] [--json] [--confirm-change]',
    '  Fits the points, saves a profile for the device (kept in its history) and prints it.',
    '  An fsr needs 2 loads or more; an hx711 needs 2 points, its tare counting as one (at 0 N).',
    `  A profile that moves forces by more than ${CONFIRM_CHANGE_ABOVE * 100} % from the one in force (or the default curve) is refused, saying how, unless --confirm-change.`,
    '',
    'Flags:',
    FLAG_TEXT.deviceId,
    FLAG_TEXT.sensor,
    FLAG_TEXT.point,
    FLAG_TEXT.tare,
    FLAG_TEXT.areaCm2,
    FLAG_TEXT.dataDir,
    '  --json           print the saved profile entry as JSON',
    `  --confirm-change save it even though it moves forces by more than ${CONFIRM_CHANGE_ABOVE * 100} % (check the loads first)`,
    FLAG_TEXT.help,
  ],
  convert: [
    'Usage: npm run calibrate -- convert --device-id ID [--unit UNIT] [--data-dir DIR] RAW ...',
    "  Prints the raw counts converted through the device's profile, as a JSON array on stdout.",
    "  A count outside the calibrated range (below the tare, or past the heaviest point: extrapolated) is converted",
    "  and named in a warning on stderr; one the sensor cannot report (fsr: 0 to 1023) is refused.",
    '',
    'Flags:',
    FLAG_TEXT.deviceId,
    FLAG_TEXT.unit,
    FLAG_TEXT.dataDir,
    FLAG_TEXT.help,
  ],
  show: [
    'Usage: npm run calibrate -- show ID [--data-dir DIR] [--json]',
    "  Prints the device's profile in force, its residual table and its history (--json: the whole file).",
    '',
    'Flags:',
    FLAG_TEXT.dataDir,
    '  --json           print the whole profile file as JSON',
    FLAG_TEXT.help,
  ],
} as const;
type CommandName = keyof typeof COMMAND_PAGES;

/** One command's page (`npm run calibrate -- fit --help`). */
export function commandUsage(command: CommandName): string {
  return COMMAND_PAGES[command].join('\n');
}

/** The overview (`npm run calibrate -- --help`): every command in a line or two. */
export function calibrateUsage(): string {
  return [
    'Usage:',
    '  npm run calibrate -- [wizard] --device SPEC [--data-dir DIR] [--area-cm2 A] [--seed N]',
    '      the wizard: tare, then known masses one by one, the fit, save',
    '  npm run calibrate -- fit --device-id ID --sensor fsr|hx711 --point RAW:LOAD ... [--tare RAW] [--area-cm2 A] [--data-dir DIR] [--json] [--confirm-change]',
    '      fits the points, saves a profile for the device (kept in its history) and prints it',
    '  npm run calibrate -- convert --device-id ID [--unit UNIT] [--data-dir DIR] RAW ...',
    "      prints the raw counts converted through the device's profile, as a JSON array",
    '  npm run calibrate -- show ID [--data-dir DIR] [--json]',
    "      prints the device's profile in force and its history",
    '  npm run calibrate -- COMMAND --help    the flags of one command (wizard, fit, convert, show)',
    '  npm run calibrate -- --version         the version',
    '',
    'Exit status: 0 done; 2 a wrong flag or value, a bad point, an unknown device, a corrupt profile file or a change not confirmed (nothing saved);',
    '1 the machine failed: the device, the data directory (cannot be read or written), or the input ended before saving.',
  ].join('\n');
}

/** Exit status when the machine fails the command (the device, the data directory), not the user. */
const EXIT_FAILURE = 1;

const decimal = (flag: string, needs: string) =>
  z
    .string()
    .regex(/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i, `${flag} needs ${needs}`)
    .transform(Number);

const flagSchemas = {
  deviceId: z.string().regex(DEVICE_ID_PATTERN, `--device-id needs a device id: ${DEVICE_ID_FORM}`),
  tare: decimal('--tare', 'a raw count, e.g. 0 or -1234.5'),
  areaCm2: decimal('--area-cm2', 'an area in cm² above 0 and at most 100, e.g. 1.5').refine((value) => value > 0 && value <= 100, '--area-cm2 needs an area in cm² above 0 and at most 100, e.g. 1.5'),
  seed: wholeNumberFlag('--seed', 0, 0xffff_ffff),
  dataDir: z.string().trim().min(1, '--data-dir needs a directory'),
};

const sensorFlag = z.enum(['fsr', 'hx711'], { error: '--sensor needs fsr or hx711' });
const unitFlag = z.enum(FORCE_UNITS, { error: `--unit needs one of ${FORCE_UNITS.join(', ')}` });

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The flags of one command (plus --data-dir and --help, which every command takes); a `multiple` flag may repeat. */
function parse(argv: readonly string[], options: ParseArgsOptionsConfig, allowPositionals: boolean): { values: FlagValues; positionals: string[] } {
  const all: ParseArgsOptionsConfig = { ...options, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  const repeatable = Object.keys(all).filter((name) => all[name]?.multiple === true);
  return parseFlags(argv, all, { repeatable, allowPositionals });
}

function strings(values: FlagValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** `--data-dir` as the user meant it: relative to where they typed `npm run calibrate`, not to the project. */
function dataDirFrom(values: FlagValues): string {
  return values['data-dir'] === undefined ? DEFAULT_DATA_DIR : resolve(pathAsTyped(checkedFlag(flagSchemas.dataDir, values['data-dir'], '--data-dir'), 'calibrate'));
}

function storeFrom(values: FlagValues): FileProfileStore {
  return new FileProfileStore(dataDirFrom(values));
}

function text(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** `RAW:LOAD`, the load in newtons or with a unit. */
function parsePoint(value: string): CalibrationPoint {
  const match = /^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*:\s*(.+)$/.exec(value);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new UsageError(`--point needs RAW:NEWTONS, e.g. --point 512:9.8 or --point 512:1kg (got --point ${JSON.stringify(value)})`);
  }
  try {
    const load = parseLoad(match[2], 'N');
    return { raw: Number(match[1]), forceN: load.forceN, massKg: load.massKg, sdRaw: null, kind: 'load' };
  } catch (error) {
    if (error instanceof LoadError) throw new CalibrationError(`--point ${value}: ${error.message}; nothing saved`);
    throw error;
  }
}

function fitCommand(argv: readonly string[]): void {
  const { values } = parse(argv, { 'device-id': { type: 'string' }, sensor: { type: 'string' }, point: { type: 'string', multiple: true }, tare: { type: 'string' }, 'area-cm2': { type: 'string' }, json: { type: 'boolean' }, 'confirm-change': { type: 'boolean' } }, false);
  const deviceIdText = text(values, 'device-id');
  const sensorText = text(values, 'sensor');
  if (deviceIdText === undefined) throw new UsageError('fit needs --device-id ID (the device the points were measured on)');
  if (sensorText === undefined) throw new UsageError('fit needs --sensor fsr or --sensor hx711');
  const deviceId = checkedFlag(flagSchemas.deviceId, deviceIdText, '--device-id');
  const sensor = checkedFlag(sensorFlag, sensorText, '--sensor');
  const tareText = text(values, 'tare');
  const tareRaw = tareText === undefined ? 0 : checkedFlag(flagSchemas.tare, tareText, '--tare');
  const areaText = text(values, 'area-cm2');
  const store = storeFrom(values);
  const loads = strings(values, 'point').map(parsePoint);
  // A load cell's tare is a calibration point like any other (0 N), unless a point at 0 N is given.
  const tareIsPoint = sensor === 'hx711' && tareText !== undefined && !loads.some((point) => point.forceN === 0);
  const points: CalibrationPoint[] = tareIsPoint ? [{ raw: tareRaw, forceN: 0, massKg: null, sdRaw: null, kind: 'zero' }, ...loads] : loads;
  if (sensor === 'hx711' && tareText === undefined && points.length === 1) {
    throw new CalibrationError(`calibration for device ${deviceId} has only 1 point; at least 2 are needed: give the raw count with nothing on the tip as --tare RAW (a point at 0 N), or another --point; nothing saved`);
  }
  const result = fitCalibration({ sensor, tareRaw, points }, `calibration for device ${deviceId}`);
  // Read before writing: a corrupt file is refused here, and its history never lost.
  const inForce = store.active(deviceId);
  const areaCm2 = areaText === undefined ? (inForce?.areaCm2 ?? DEFAULT_CONTACT_AREA_CM2) : checkedFlag(flagSchemas.areaCm2, areaText, '--area-cm2');
  const change = calibrationChange(result, inForce);
  if (change.message !== null && values['confirm-change'] !== true) {
    throw new CalibrationError(`calibration for device ${deviceId}: ${change.message} by running again with --confirm-change; nothing saved`);
  }
  const file = store.append(deviceId, newProfileEntry(result, { areaCm2, madeWith: 'command' }));
  process.stdout.write(values['json'] === true ? `${JSON.stringify(file.history.at(-1), null, 2)}\n` : `Saved.\n${profileReport(file, store.pathOf(deviceId))}\n`);
}

/** A raw count as typed, refused when it is no number or not one the sensor can report. */
function rawCount(value: string, sensor: SensorKind): number {
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(value)) throw new UsageError(`"${value}" is not a raw count (a number, e.g. 512)`);
  const raw = Number(value);
  const range = SENSOR_RAW_RANGE[sensor];
  if (raw < range.min || raw > range.max) throw new UsageError(`raw ${value} is outside what an ${sensor} can report (${range.min} to ${range.max} counts): check the number`);
  return raw;
}

/** Why a raw count is outside the profile's calibrated range, or null when it is inside. */
function outsideCalibratedRange(entry: ProfileEntry, raw: number, forceN: number): string | null {
  const topRaw = Math.max(...entry.points.map((point) => point.raw));
  const [, topN] = entry.stats.rangeN;
  const range = `the calibrated range is ${formatCount(entry.tareRaw)} (the tare, 0 N) to ${formatCount(topRaw)} counts (${topN.toFixed(2)} N)`;
  if (raw > topRaw) return `raw ${formatCount(raw)} is past the heaviest calibration point: its ${forceN.toFixed(2)} N is extrapolated, with no error bar (${range}); calibrate with a heavier load to cover it`;
  if (raw < entry.tareRaw) return `raw ${formatCount(raw)} is below the tare: it reads 0 N (${range}); if nothing was on the tip, the zero has moved: tare again`;
  return null;
}

function formatCount(raw: number): string {
  return Number.isInteger(raw) ? String(raw) : raw.toFixed(1);
}

function convertCommand(argv: readonly string[]): void {
  const { values, positionals } = parse(argv, { 'device-id': { type: 'string' }, unit: { type: 'string' } }, true);
  const deviceIdText = text(values, 'device-id');
  if (deviceIdText === undefined) throw new UsageError('convert needs --device-id ID');
  const deviceId = checkedFlag(flagSchemas.deviceId, deviceIdText, '--device-id');
  const unitText = text(values, 'unit');
  const unit = unitText === undefined ? 'N' : checkedFlag(unitFlag, unitText, '--unit');
  if (positionals.length === 0) throw new UsageError('convert needs at least one raw count after the flags, e.g. convert --device-id 1a2b3c4d 312 540');
  for (const value of positionals) rawCount(value, 'hx711');
  const store = storeFrom(values);
  const active = store.active(deviceId);
  if (active === null) throw new CalibrationError(`no calibration profile for device ${deviceId} in ${store.location}: ${CALIBRATE_HINT}`);
  const raws = positionals.map((value) => rawCount(value, active.sensor));
  const calibration = profileCalibration(active);
  const forcesN = raws.map((raw) => calibration.toNewtons(raw));
  // The numbers stay a valid JSON array on stdout; what is outside the calibrated range is said on stderr.
  raws.forEach((raw, index) => {
    const outside = outsideCalibratedRange(active, raw, forcesN[index] ?? 0);
    if (outside !== null) process.stderr.write(`knotmeter calibrate: warning: ${outside}\n`);
  });
  process.stdout.write(`${JSON.stringify(forcesN.map((forceN) => Number(toDisplay(forceN, unit, active.areaCm2).toFixed(6))))}\n`);
}

function showCommand(argv: readonly string[]): void {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, true);
  if (positionals.length !== 1 || positionals[0] === undefined) throw new UsageError('show needs one device id, e.g. show 1a2b3c4d');
  const deviceId = checkedFlag(deviceIdSchema, positionals[0], 'show');
  const store = storeFrom(values);
  const file = store.read(deviceId);
  if (file === null) throw new CalibrationError(`no calibration profile for device ${deviceId} in ${store.location}: ${CALIBRATE_HINT}`);
  process.stdout.write(values['json'] === true ? `${JSON.stringify(file, null, 2)}\n` : `${profileReport(file, store.pathOf(deviceId))}\n`);
}

async function wizardCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { device: { type: 'string' }, 'area-cm2': { type: 'string' }, seed: { type: 'string' } }, false);
  const deviceSpec = text(values, 'device');
  if (deviceSpec === undefined) throw new UsageError('the wizard needs --device SPEC (e.g. --device serial, or --device sim:weights?gain=1.2); see --help for the commands');
  const areaText = text(values, 'area-cm2');
  const seedText = text(values, 'seed');
  const areaCm2 = areaText === undefined ? null : checkedFlag(flagSchemas.areaCm2, areaText, '--area-cm2');
  const seed = seedText === undefined ? undefined : checkedFlag(flagSchemas.seed, seedText, '--seed');
  const store = storeFrom(values);
  // A folder the calibration could not be saved in is refused before the device is opened.
  // Another device's corrupt profile is no reason to refuse this one: the wizard reads only its own.
  store.checkWritable();
  // Loaded only here: opening devices pulls in every transport (serialport and more).
  const { Wizard } = await import('../../calibration/wizard.ts');
  const wizard = new Wizard({ deviceSpec, store, dataDir: dataDirFrom(values), areaCm2, seed }, { input: process.stdin, output: process.stdout });
  return wizard.run();
}

const COMMANDS: readonly CommandName[] = ['wizard', 'fit', 'convert', 'show'];

function isCommand(name: string | undefined): name is CommandName {
  return (COMMANDS as readonly (string | undefined)[]).includes(name);
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  const command: CommandName | undefined = isCommand(first) ? first : first === undefined || first.startsWith('-') ? 'wizard' : undefined;
  const flags = isCommand(first) ? rest : argv;
  if (first === 'help') {
    process.stdout.write(`${isCommand(rest[0]) ? commandUsage(rest[0]) : calibrateUsage()}\n`);
    return 0;
  }
  if (command === undefined) throw new UsageError(`unknown command "${first ?? ''}" (known: ${COMMANDS.join(', ')}; the wizard is also run by --device SPEC alone; see --help)`);
  if (flags.includes('--version')) {
    process.stdout.write(`${versionText()}\n`);
    return 0;
  }
  if (flags.includes('--help') || flags.includes('-h')) {
    // `npm run calibrate -- --help` alone: the overview; with a command (or the wizard's --device): its page.
    const bare = !isCommand(first) && !flags.some((flag) => flag === '--device' || flag.startsWith('--device='));
    process.stdout.write(`${bare ? calibrateUsage() : commandUsage(command)}\n`);
    return 0;
  }
  switch (command) {
    case 'fit':
      fitCommand(flags);
      return 0;
    case 'convert':
      convertCommand(flags);
      return 0;
    case 'show':
      showCommand(flags);
      return 0;
    case 'wizard':
      return wizardCommand(flags);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof ProfileStorageError) {
    // The command was right; the machine would not let it read or write its folder.
    process.stderr.write(`knotmeter calibrate: ${error.message}\n`);
    process.exitCode = EXIT_FAILURE;
  } else if (error instanceof UsageError || error instanceof CalibrationError || error instanceof ProfileFileError || error instanceof DeviceSpecError) {
    process.stderr.write(`knotmeter calibrate: ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    throw error;
  }
}
