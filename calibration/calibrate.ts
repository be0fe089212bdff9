/**
 * `npm run calibrate`: calibration from the terminal.
 *
 *   npm run calibrate -- --device SPEC [--data-dir DIR] [--area-cm2 A] [--seed N]
 *       the wizard: tare, known loads one by one, fit, save (see wizard.ts)
 *   npm run calibrate -- fit --device-id ID --sensor fsr|hx711 --point RAW:NEWTONS ... [--tare RAW] [--area-cm2 A] [--data-dir DIR] [--json]
 *       fits the points, saves the profile (added to the device's history) and prints it
 *   npm run calibrate -- convert --device-id ID [--unit UNIT] [--data-dir DIR] RAW ...
 *       prints the forces of raw counts through the device's profile, as a JSON array
 *   npm run calibrate -- show ID [--data-dir DIR] [--json]
 *       prints the profile in force and the device's history
 *
 * Profiles live in DIR/calibration/ID.json; DIR is the server's `--data-dir` (default
 * `data`). Exit 0 on success; 2 on a wrong flag, a bad point, an unknown device or a
 * corrupt profile file (nothing saved), with a message naming it; 1 when the device fails
 * or the wizard's input ends before saving.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { DeviceSpecError } from '../device/device-spec.ts';
import { checkedFlag, describeParseError, EXIT_USAGE, UsageError, wholeNumberFlag } from '../server/cli-support.ts';
import { CALIBRATE_HINT, CalibrationError, fitCalibration, type CalibrationPoint } from './fit.ts';
import { deviceIdSchema, newProfileEntry, profileCalibration } from './profile.ts';
import { profileReport } from './report.ts';
import { DEFAULT_DATA_DIR, FileProfileStore, ProfileFileError } from './store.ts';
import { DEFAULT_CONTACT_AREA_CM2, FORCE_UNITS, LoadError, parseLoad, toDisplay } from './units.ts';

export function calibrateUsage(): string {
  return [
    'Usage:',
    '  npm run calibrate -- --device SPEC [--data-dir DIR] [--area-cm2 A] [--seed N]',
    '      the wizard: tare, then known masses one by one, the fit, save',
    '  npm run calibrate -- fit --device-id ID --sensor fsr|hx711 --point RAW:NEWTONS ... [--tare RAW] [--area-cm2 A] [--data-dir DIR] [--json]',
    '      fits the points, saves a profile for the device (kept in its history) and prints it',
    '  npm run calibrate -- convert --device-id ID [--unit UNIT] [--data-dir DIR] RAW ...',
    '      prints the raw counts converted through the device\'s profile, as a JSON array',
    '  npm run calibrate -- show ID [--data-dir DIR] [--json]',
    '      prints the device\'s profile in force and its history',
    '',
    'Flags:',
    '  --device SPEC    the device to calibrate, as for npm start (sim:weights?gain=1.2 is a simulated calibration bench)',
    `  --data-dir DIR   where profiles are kept (DIR/calibration/ID.json), the server's --data-dir (default ${DEFAULT_DATA_DIR})`,
    '  --device-id ID   the device, 8 hex digits as the dashboard shows it',
    '  --sensor KIND    fsr (force-sensing resistor on A0) or hx711 (load cell)',
    '  --point RAW:LOAD a raw count and its known load: newtons, or with a unit (512:1kg, 512:500g, 512:2lb); repeat per point',
    '  --tare RAW       the raw count with nothing on the tip (default 0)',
    `  --area-cm2 A     the tip's contact area, for kPa and kgf/cm² (default: the current profile's, else ${DEFAULT_CONTACT_AREA_CM2})`,
    `  --unit UNIT      convert into ${FORCE_UNITS.join(', ')} (default N; pressures use the profile's contact area)`,
    '  --seed N         seed for a simulated device',
    '  --json           print the profile as JSON',
    '  --help           print this and exit',
  ].join('\n');
}

const decimal = (flag: string, needs: string) =>
  z
    .string()
    .regex(/^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i, `${flag} needs ${needs}`)
    .transform(Number);

const flagSchemas = {
  deviceId: z.string().regex(/^[0-9a-f]{8}$/, '--device-id needs a device id: 8 lowercase hex digits, e.g. 1a2b3c4d'),
  tare: decimal('--tare', 'a raw count, e.g. 0 or -1234.5'),
  areaCm2: decimal('--area-cm2', 'an area in cm² above 0 and at most 100, e.g. 1.5').refine((value) => value > 0 && value <= 100, '--area-cm2 needs an area in cm² above 0 and at most 100, e.g. 1.5'),
  seed: wholeNumberFlag('--seed', 0, 0xffff_ffff),
  dataDir: z.string().trim().min(1, '--data-dir needs a directory'),
};

const sensorFlag = z.enum(['fsr', 'hx711'], { error: '--sensor needs fsr or hx711' });
const unitFlag = z.enum(FORCE_UNITS, { error: `--unit needs one of ${FORCE_UNITS.join(', ')}` });

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** The flags of one command (plus --data-dir and --help, which every command takes). */
function parse(argv: readonly string[], options: ParseArgsOptionsConfig, allowPositionals: boolean): { values: FlagValues; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], strict: true, allowPositionals, options: { ...options, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
    return { values, positionals };
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
}

function strings(values: FlagValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function dataDirFrom(values: FlagValues): string {
  return values['data-dir'] === undefined ? DEFAULT_DATA_DIR : checkedFlag(flagSchemas.dataDir, values['data-dir'], '--data-dir');
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
  const { values } = parse(argv, { 'device-id': { type: 'string' }, sensor: { type: 'string' }, point: { type: 'string', multiple: true }, tare: { type: 'string' }, 'area-cm2': { type: 'string' }, json: { type: 'boolean' } }, false);
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
  const points = strings(values, 'point').map(parsePoint);
  const result = fitCalibration({ sensor, tareRaw, points }, `calibration for device ${deviceId}`);
  // Read before writing: a corrupt file is refused here, and its history never lost.
  const areaCm2 = areaText === undefined ? (store.active(deviceId)?.areaCm2 ?? DEFAULT_CONTACT_AREA_CM2) : checkedFlag(flagSchemas.areaCm2, areaText, '--area-cm2');
  const file = store.append(deviceId, newProfileEntry(result, { areaCm2, madeWith: 'command' }));
  process.stdout.write(values['json'] === true ? `${JSON.stringify(file.history.at(-1), null, 2)}\n` : `Saved.\n${profileReport(file, store.pathOf(deviceId))}\n`);
}

function convertCommand(argv: readonly string[]): void {
  const { values, positionals } = parse(argv, { 'device-id': { type: 'string' }, unit: { type: 'string' } }, true);
  const deviceIdText = text(values, 'device-id');
  if (deviceIdText === undefined) throw new UsageError('convert needs --device-id ID');
  const deviceId = checkedFlag(flagSchemas.deviceId, deviceIdText, '--device-id');
  const unitText = text(values, 'unit');
  const unit = unitText === undefined ? 'N' : checkedFlag(unitFlag, unitText, '--unit');
  if (positionals.length === 0) throw new UsageError('convert needs at least one raw count after the flags, e.g. convert --device-id 1a2b3c4d 312 540');
  const raws = positionals.map((value) => {
    if (!/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(value)) throw new UsageError(`"${value}" is not a raw count (a number, e.g. 512)`);
    return Number(value);
  });
  const store = storeFrom(values);
  const active = store.active(deviceId);
  if (active === null) throw new CalibrationError(`no calibration profile for device ${deviceId} in ${store.location}: ${CALIBRATE_HINT}`);
  const calibration = profileCalibration(active);
  const converted = raws.map((raw) => Number(toDisplay(calibration.toNewtons(raw), unit, active.areaCm2).toFixed(6)));
  process.stdout.write(`${JSON.stringify(converted)}\n`);
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
  const store = storeFrom(values);
  // A corrupt profile is refused before the device is opened: the new fit could not be saved.
  store.checkAll();
  // Loaded only here: opening devices pulls in every transport (serialport and more).
  const { Wizard } = await import('./wizard.ts');
  const wizard = new Wizard(
    {
      deviceSpec,
      store,
      dataDir: dataDirFrom(values),
      areaCm2: areaText === undefined ? null : checkedFlag(flagSchemas.areaCm2, areaText, '--area-cm2'),
      seed: seedText === undefined ? undefined : checkedFlag(flagSchemas.seed, seedText, '--seed'),
    },
    { input: process.stdin, output: process.stdout },
  );
  return wizard.run();
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${calibrateUsage()}\n`);
    return 0;
  }
  switch (command) {
    case 'fit':
      fitCommand(rest);
      return 0;
    case 'convert':
      convertCommand(rest);
      return 0;
    case 'show':
      showCommand(rest);
      return 0;
    default:
      if (command !== undefined && !command.startsWith('-')) throw new UsageError(`unknown command "${command}" (known: fit, convert, show; or --device SPEC for the wizard; see --help)`);
      return wizardCommand(argv);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError || error instanceof CalibrationError || error instanceof ProfileFileError || error instanceof DeviceSpecError) {
    process.stderr.write(`knotmeter calibrate: ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    throw error;
  }
}
