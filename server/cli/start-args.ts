/**
 * The server's command line: `npm start -- [flags]`. Every flag is validated here; a
 * mistake becomes a `UsageError` naming the flag and what it needs (the CLI exits 2).
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { DEFAULT_DATA_DIR } from '../../calibration/store.ts';
import { DEVICE_ID_FORM, DEVICE_ID_PATTERN } from '../../device/device-id.ts';
import { DEVICE_NAME_MAX_CHARS, deviceNameProblem } from '../../device/device-name.ts';
import { deviceSpecUsage, kindTakesDeviceId } from '../../device/registry.ts';
import { withoutPassword } from '../security/url-password.ts';
import { checkedFlag, parseFlags, pathAsTyped, readEngineConfigFile, UsageError, wholeNumberFlag } from './support.ts';
import { storeTargetOfFlags } from './store-flags.ts';
import { DEFAULT_PRESET, PRESET_NAMES, presetConfig, type PresetName } from '../engine/presets.ts';
import type { EngineSettings } from '../pipeline.ts';
import type { StoreTarget } from '../recording/store-target.ts';
import { DEFAULT_DB_PATH } from '../recording/recording.ts';
import { LOG_LEVELS, type LogLevel } from '../log.ts';
import { canonicalHost } from '../security/hosts.ts';
import { AUTH_MODES, type AuthMode } from '../security/pairing-guard.ts';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly devices: readonly string[];
  /** `--device-id` per device, parallel to `devices` (null: none given). */
  readonly deviceIds: readonly (string | null)[];
  readonly seed: number | undefined;
  /** `--preset`, or the default when neither it nor `--config` is given. */
  readonly preset: PresetName | null;
  /** `--config FILE`: a custom engine config (read and validated by the caller). */
  readonly configFile: string | null;
  readonly logLevel: LogLevel;
  /** `--data-dir DIR`: calibration profiles (DIR/calibration/), and the recording unless `--db` says otherwise. */
  readonly dataDir: string;
  /** Where sessions are recorded: `--db FILE` (default DIR/knotmeter.db), or `--store postgres://USER@HOST:PORT/DB`. */
  readonly store: StoreTarget;
  /** `--session-idle-s N`, in ms: no press for this long ends a recorded session. */
  readonly sessionIdleMs: number;
  /** `--speed X`: how fast replays play, 1 = as recorded; null (`max`) = as fast as possible. */
  readonly replaySpeed: number | null;
  readonly help: boolean;
  /** `--version`: print `knotmeter VERSION` and exit. */
  readonly version: boolean;
  /** `--allowed-host NAME`, repeatable: more names the server answers to (besides loopback, the bound address and this machine's names). */
  readonly allowedHosts: readonly string[];
  /** `--auth auto|always`: whether clients must pair (auto: only when bound beyond loopback). */
  readonly auth: AuthMode;
  /** `--tls-cert FILE --tls-key FILE` (both or neither): serve HTTPS (the files are read and checked by startServer's caller). */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  /** `--bus redis://:PASSWORD@HOST:PORT --bus-key FILE`: join the other servers on this Redis, signing with the clinic's key (the file is read by startServer's caller; null: this server alone). */
  readonly bus: { readonly url: string; readonly keyFile: string } | null;
  /** `--room NAME`: what people call this server's room, sent with each of its devices (default: the host's name with `--bus`, else null). */
  readonly room: string | null;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_DEVICE = 'sim';
export const DEFAULT_SESSION_IDLE_S = 300;

export function serverUsage(): string {
  return [
    'Usage: npm start -- [--host ADDRESS] [--allowed-host NAME]... [--auth auto|always] [--tls-cert FILE --tls-key FILE] [--port N] [--device SPEC [--device-id ID]]... [--preset NAME | --config FILE] [--seed N] [--data-dir DIR] [--db FILE | --store URL] [--session-idle-s N] [--speed X] [--bus redis://:PASSWORD@HOST:PORT --bus-key FILE] [--room NAME] [--log-level LEVEL] [--version]',
    '',
    'Runs the Knotmeter server: reads each device, converts to newtons and streams live',
    'readings to the dashboard and to any socket.io client.',
    '',
    'Flags:',
    `  --host ADDRESS     address to listen on (default ${DEFAULT_HOST}; use 0.0.0.0 to serve a tablet on the LAN)`,
    '  --allowed-host NAME  a name this server is reached by besides localhost, its addresses and this machine\'s',
    '                     names (a LAN name, a reverse proxy\'s); repeat for several. Requests naming any other',
    '                     host are refused (421), against DNS rebinding',
    '  --auth MODE        auto (default): every client off this machine must pair (a link printed at start)',
    '                     when --host is not a loopback address; always: on loopback too (npm run pair lists, revokes)',
    '  --tls-cert FILE    serve HTTPS with this PEM certificate (with --tls-key): a tablet gets a secure context',
    '                     (screen wake lock, installable app) and the pairing cookie is Secure',
    '  --tls-key FILE     the certificate\'s PEM private key (no passphrase)',
    `  --port N           TCP port, 0 for any free one (default ${DEFAULT_PORT})`,
    `  --device SPEC      a device to read; repeat for several (default ${DEFAULT_DEVICE}). SPEC is one of:`,
    ...deviceSpecUsage().map((usage) => `                       ${usage}`),
    '  --device-id ID     the id (8 hex digits) of the --device just before it, for a board with none of its own',
    '                     (firmata); without it a Firmata board is named by a hash of its port',
    `  --preset NAME      pressure thresholds and hold times for a body area: ${PRESET_NAMES.join(', ')} (default ${DEFAULT_PRESET});`,
    '                     the dashboard can switch each device to another preset',
    '  --config FILE      custom thresholds and times as JSON: every field, or {"preset": NAME, ...the fields that differ}',
    '  --seed N           seed for simulated devices (device i uses N + i); random if absent',
    '  --data-dir DIR     where calibration profiles are kept (DIR/calibration/ID.json, as npm run calibrate',
    '                     writes them) and, unless --db says otherwise, the recording (default data/ in the project)',
    '  --db FILE          record sessions (holds, warnings, samples) in this SQLite file, created if missing',
    '                     (default DIR/knotmeter.db; a relative FILE is from the current folder)',
    '  --store URL        record sessions in PostgreSQL instead, postgres://USER[:PASSWORD]@HOST:PORT/DB: one',
    '                     database for every server of a clinic (docs/deployment.md)',
    `  --session-idle-s N a recorded session ends after N seconds without a press (default ${DEFAULT_SESSION_IDLE_S})`,
    '  --speed X          how fast replay devices play: 1 as recorded (default), 10 ten times faster, max as fast as possible',
    '  --bus URL          join the other servers of a clinic through this Redis (redis://:PASSWORD@HOST:PORT): every',
    '                     dashboard shows every server\'s devices; without Redis each server goes on alone (docs/deployment.md)',
    '  --bus-key FILE     the clinic\'s bus key (with --bus; the same file on every server, mode 600): signs every',
    '                     message between the servers, so Redis\'s password alone cannot forge or replay one',
    '  --room NAME        what people call this server\'s room ("Room 2"), shown with each of its devices on every',
    `                     dashboard (1 to ${DEVICE_NAME_MAX_CHARS} characters; default: with --bus the host's name, else none)`,
    `  --log-level LEVEL  ${LOG_LEVELS.join(', ')} (default info); logs go to stderr`,
    '  --version          print the version (knotmeter VERSION) and exit',
    '  --help             print this and exit',
  ].join('\n');
}

const flagSchemas = {
  host: z.string().trim().min(1, '--host needs an address, e.g. 127.0.0.1'),
  port: wholeNumberFlag('--port', 0, 65_535),
  seed: wholeNumberFlag('--seed', 0, 0xffff_ffff),
  logLevel: z.enum(LOG_LEVELS, { error: `--log-level needs one of ${LOG_LEVELS.join(', ')}` }),
  preset: z.enum(PRESET_NAMES, { error: `--preset needs one of ${PRESET_NAMES.join(', ')}` }),
  configFile: z.string().trim().min(1, '--config needs a file name'),
  dataDir: z.string().trim().min(1, '--data-dir needs a directory, e.g. data'),
  sessionIdleS: wholeNumberFlag('--session-idle-s', 10, 86_400, 'seconds'),
  // One schema, not a union: a union's failure is zod's stock "Invalid input".
  speed: z
    .string()
    .refine((text) => text === 'max' || (/^\d+(?:\.\d+)?$/.test(text) && Number(text) >= 0.1 && Number(text) <= 1000), '--speed needs a number from 0.1 to 1000, or max')
    .transform((text) => (text === 'max' ? null : Number(text))),
  allowedHost: z
    .string()
    .trim()
    .refine((text) => canonicalHost(text) !== null && !/:\d+$/.test(text.replace(/^\[.*\]/, '')), '--allowed-host needs a host name or address without scheme or port, e.g. knotmeter.clinic.example, 192.168.1.20 or [fd00::20]')
    .transform((text) => canonicalHost(text)?.name ?? text),
  auth: z.enum(AUTH_MODES, { error: `--auth needs one of ${AUTH_MODES.join(', ')}` }),
  deviceId: z.string().regex(DEVICE_ID_PATTERN, `--device-id needs a device id: ${DEVICE_ID_FORM}`),
  bus: z
    .string()
    .trim()
    .refine((text) => /^rediss?:\/\/[^/\s]+(?::\d+)?(?:\/\d*)?$/.test(text) && URL.canParse(text), '--bus needs a Redis address, redis://:PASSWORD@HOST:PORT (e.g. redis://:s3cret@127.0.0.1:6379)')
    .refine((text) => !URL.canParse(text) || new URL(text).password !== '', "--bus needs Redis's password in the address, redis://:PASSWORD@HOST:PORT: the clinic's Redis must require one (requirepass), or any machine that reaches it could read the live stream and flood the bus (docs/deployment.md)"),
  busKey: z.string().trim().min(1, '--bus-key needs a file name, e.g. /etc/knotmeter/bus.key'),
  // A device name's rules: the room is shown beside one, in the same places.
  room: z
    .string()
    .trim()
    .superRefine((name, context) => {
      const problem = deviceNameProblem(name);
      if (problem !== null) context.addIssue({ code: 'custom', message: `--room needs what people call this server's room, e.g. "Room 2": it ${problem}` });
    }),
};

/**
 * Pairs each `--device-id` with the `--device` just before it (parseArgs tokens keep the
 * order); an id with no device before it, a second id for one device, or an id for a
 * device that has an id of its own is a usage error.
 */
function deviceIdsOf(tokens: readonly { kind: string; name?: string; value?: string | undefined }[], devices: readonly string[]): (string | null)[] {
  const ids: (string | null)[] = devices.map(() => null);
  let device = -1;
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (token.name === 'device') device++;
    if (token.name !== 'device-id') continue;
    const id = checkedFlag(flagSchemas.deviceId, token.value, '--device-id');
    const spec = devices[device];
    if (spec === undefined) throw new UsageError(`--device-id ${id} names the --device just before it: put it after --device firmata:PATH`);
    if (ids[device] !== null) throw new UsageError(`--device ${spec} has two --device-id flags (${ids[device]} and ${id}): keep one`);
    if (!kindTakesDeviceId(spec)) throw new UsageError(`--device-id ${id}: --device ${spec} has an id of its own; --device-id is for firmata devices`);
    ids[device] = id;
  }
  return ids;
}

/** `--tls-cert` and `--tls-key`: both or neither. */
function tlsFlags(certFile: string | undefined, keyFile: string | undefined): ServerOptions['tls'] {
  if (certFile === undefined && keyFile === undefined) return null;
  if (certFile === undefined || keyFile === undefined) throw new UsageError(`${certFile === undefined ? '--tls-key' : '--tls-cert'} needs ${certFile === undefined ? '--tls-cert' : '--tls-key'} too: pass both the certificate and its key, or neither`);
  const file = z.string().trim().min(1, 'needs a PEM file');
  return { certFile: pathAsTyped(checkedFlag(file, certFile, '--tls-cert'), 'start'), keyFile: pathAsTyped(checkedFlag(file, keyFile, '--tls-key'), 'start') };
}

export function parseServerArgs(argv: readonly string[]): ServerOptions {
  const { values, tokens } = parseFlags(
    argv,
    {
      host: { type: 'string' },
      port: { type: 'string' },
      device: { type: 'string', multiple: true },
      'device-id': { type: 'string', multiple: true },
      seed: { type: 'string' },
      preset: { type: 'string' },
      config: { type: 'string' },
      db: { type: 'string' },
      store: { type: 'string' },
      'data-dir': { type: 'string' },
      'session-idle-s': { type: 'string' },
      speed: { type: 'string' },
      'log-level': { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      auth: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      bus: { type: 'string' },
      'bus-key': { type: 'string' },
      room: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
    { repeatable: ['device', 'device-id', 'allowed-host'] },
  );
  if (values.preset !== undefined && values.config !== undefined) {
    throw new UsageError('--preset and --config cannot be used together: put "preset" inside the config file instead');
  }
  // npm runs the script in the project's folder: a relative path is from where it was typed.
  const dataDir = values['data-dir'] === undefined ? DEFAULT_DATA_DIR : pathAsTyped(checkedFlag(flagSchemas.dataDir, values['data-dir'], '--data-dir'), 'start');
  return {
    host: values.host === undefined ? DEFAULT_HOST : checkedFlag(flagSchemas.host, values.host, '--host'),
    port: values.port === undefined ? DEFAULT_PORT : checkedFlag(flagSchemas.port, values.port, '--port'),
    devices: values.device ?? [DEFAULT_DEVICE],
    deviceIds: deviceIdsOf(tokens, values.device ?? [DEFAULT_DEVICE]),
    seed: values.seed === undefined ? undefined : checkedFlag(flagSchemas.seed, values.seed, '--seed'),
    preset: values.config !== undefined ? null : values.preset === undefined ? DEFAULT_PRESET : checkedFlag(flagSchemas.preset, values.preset, '--preset'),
    configFile: values.config === undefined ? null : checkedFlag(flagSchemas.configFile, values.config, '--config'),
    logLevel: values['log-level'] === undefined ? 'info' : checkedFlag(flagSchemas.logLevel, values['log-level'], '--log-level'),
    dataDir,
    store: storeTargetOfFlags(values, values['data-dir'] === undefined ? DEFAULT_DB_PATH : join(dataDir, 'knotmeter.db'), 'start'),
    sessionIdleMs: (values['session-idle-s'] === undefined ? DEFAULT_SESSION_IDLE_S : checkedFlag(flagSchemas.sessionIdleS, values['session-idle-s'], '--session-idle-s')) * 1000,
    replaySpeed: values.speed === undefined ? 1 : checkedFlag(flagSchemas.speed, values.speed, '--speed'),
    help: values.help ?? false,
    version: values.version ?? false,
    allowedHosts: (values['allowed-host'] ?? []).map((name) => checkedFlag(flagSchemas.allowedHost, name, '--allowed-host')),
    auth: values.auth === undefined ? 'auto' : checkedFlag(flagSchemas.auth, values.auth, '--auth'),
    tls: tlsFlags(values['tls-cert'], values['tls-key']),
    bus: busFlags(values.bus, values['bus-key']),
    room: values.room === undefined ? (values.bus === undefined ? null : hostRoom()) : checkedFlag(flagSchemas.room, values.room, '--room'),
  };
}

/** A server on a bus names its room by default after its host, so that two rooms' devices are told apart (cut to a name's length). */
function hostRoom(): string | null {
  const name = hostname().trim().slice(0, DEVICE_NAME_MAX_CHARS);
  return deviceNameProblem(name) === null ? name : null;
}

/** `--bus` and `--bus-key`: both or neither (an unsigned bus would let Redis's password alone move an alarm). */
function busFlags(url: string | undefined, keyFile: string | undefined): ServerOptions['bus'] {
  if (url === undefined && keyFile === undefined) return null;
  if (url === undefined) throw new UsageError('--bus-key needs --bus redis://:PASSWORD@HOST:PORT: the key signs what this server says on the bus');
  if (keyFile === undefined) throw new UsageError("--bus needs --bus-key FILE, the clinic's bus key (the same file on every server): it signs every message between the servers");
  return { url: checkedFlag(flagSchemas.bus, url, '--bus', withoutPassword(url)), keyFile: checkedFlag(flagSchemas.busKey, keyFile, '--bus-key') };
}

/** The engine settings the flags ask for: a preset, or the validated contents of `--config`. */
export function resolveEngineSettings(options: ServerOptions): EngineSettings {
  if (options.configFile === null) {
    const preset = options.preset ?? DEFAULT_PRESET;
    return { preset, config: presetConfig(preset) };
  }
  return { preset: null, config: readEngineConfigFile(pathAsTyped(options.configFile, 'start'), options.configFile) };
}
