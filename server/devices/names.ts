/**
 * Devices' display names, kept per device id in `--data-dir`'s `device-names.json` (in
 * memory without one), so a name given once survives restarts and names the device's
 * sessions in history and exports. A name comes from `?name=` in the device spec or from
 * the dashboard (a `renameDevice` request, rename-request.ts); the latest one given wins:
 * a spec's name is taken when it differs from the one that spec gave last time, so a
 * restart with the same `--device` keeps a name set on the dashboard since.
 *
 *   const names = DeviceNames.open(dataDir);           // throws DeviceNamesError for a damaged file
 *   names.nameFor('1a2b3c4d', 'Couch 2', 'serial');     // 'Couch 2' (and kept)
 *   names.rename('1a2b3c4d', 'Window couch');           // { before: 'Couch 2', after: 'Window couch' }
 *
 * Pipeline position: beside the pipelines (each asks for its device's name) and the REST API.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomically } from '../../calibration/atomic-file.ts';
import { deviceIdSchema } from '../../device/device-id.ts';
import { defaultDeviceName, deviceNameSchema } from '../../device/device-name.ts';

export const DEVICE_NAMES_FILE = 'device-names.json';

/** The file cannot be read as names, or cannot be written: says which file and what to do. */
export class DeviceNamesError extends Error {
  override readonly name = 'DeviceNamesError';
}

const entrySchema = z.strictObject({
  name: deviceNameSchema,
  /** The `?name=` last taken from the device's spec (null: none yet), so the same spec does not undo a later rename. */
  specName: deviceNameSchema.nullable(),
});
type Entry = z.infer<typeof entrySchema>;

const namesFileSchema = z.strictObject({
  version: z.literal(1),
  devices: z.record(deviceIdSchema, entrySchema),
});

export type NameListener = (deviceId: string, name: string) => void;

export class DeviceNames {
  /** The file, or null when names are kept in memory only. */
  readonly location: string | null;
  readonly #entries: Map<string, Entry>;
  readonly #listeners = new Set<NameListener>();

  private constructor(location: string | null, entries: Map<string, Entry>) {
    this.location = location;
    this.#entries = entries;
  }

  /** The names in `dataDir` (none yet: an empty list), or in memory when `dataDir` is undefined. */
  static open(dataDir: string | undefined): DeviceNames {
    if (dataDir === undefined) return new DeviceNames(null, new Map());
    const location = join(dataDir, DEVICE_NAMES_FILE);
    return new DeviceNames(location, readEntries(location));
  }

  /** The stored name of a device, or null when it has none. */
  get(deviceId: string): string | null {
    return this.#entries.get(deviceId)?.name ?? null;
  }

  /** The name to show for a device: its stored name, else the default from its kind and id. */
  displayName(deviceId: string, transportKind: string): string {
    return this.get(deviceId) ?? defaultDeviceName(transportKind, deviceId);
  }

  /**
   * The name of a device that has just said who it is: `specName` (its `?name=`, already
   * checked) when that spec has not given it before, else the stored name, else the default.
   */
  nameFor(deviceId: string, specName: string | null, transportKind: string): string {
    const entry = this.#entries.get(deviceId);
    if (specName !== null && entry?.specName !== specName) {
      try {
        this.#put(deviceId, { name: specName, specName });
      } catch {
        // A folder that cannot be written: the device still gets its name, for this run.
        this.#entries.set(deviceId, { name: specName, specName });
      }
      return specName;
    }
    return this.displayName(deviceId, transportKind);
  }

  /**
   * Names a device (a person's request): checked, kept, and told to every listener.
   * @throws DeviceNamesError when the name is refused or cannot be kept (nothing changes then).
   */
  rename(deviceId: string, name: string): { before: string | null; after: string } {
    const checked = deviceNameSchema.safeParse(name);
    if (!checked.success) throw new DeviceNamesError(`the name ${JSON.stringify(name.slice(0, 60))} ${checked.error.issues[0]?.message ?? 'is not a name'}`);
    const before = this.get(deviceId);
    if (before !== checked.data) this.#put(deviceId, { name: checked.data, specName: this.#entries.get(deviceId)?.specName ?? null });
    return { before, after: checked.data };
  }

  /** Calls `listener` after every change of a name; returns the unsubscribe. */
  subscribe(listener: NameListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #put(deviceId: string, entry: Entry): void {
    const next = new Map(this.#entries).set(deviceId, entry);
    if (this.location !== null) writeEntries(this.location, next);
    this.#entries.set(deviceId, entry);
    for (const listener of this.#listeners) listener(deviceId, entry.name);
  }
}

function readEntries(location: string): Map<string, Entry> {
  let text: string;
  try {
    text = readFileSync(location, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === 'ENOENT') return new Map();
    throw new DeviceNamesError(`cannot read the device names in ${location} (${error instanceof Error ? error.message : String(error)}): check its permissions`);
  }
  try {
    return new Map(Object.entries(namesFileSchema.parse(JSON.parse(text)).devices));
  } catch (error) {
    const reason = error instanceof z.ZodError ? error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') : error instanceof Error ? error.message : String(error);
    throw new DeviceNamesError(`${location} is not a device names file (${reason.slice(0, 200)}): fix it, or move it away to start with default names`);
  }
}

/** Writes the file atomically (a crash leaves the old or the new, never half). */
function writeEntries(location: string, entries: ReadonlyMap<string, Entry>): void {
  try {
    mkdirSync(dirname(location), { recursive: true });
    writeFileAtomically(location, `${JSON.stringify({ version: 1, devices: Object.fromEntries(entries) }, null, 2)}\n`, { mode: 0o644 });
  } catch (error) {
    throw new DeviceNamesError(`cannot save the device names in ${location} (${error instanceof Error ? error.message : String(error)}): check that --data-dir is a folder you can write in`);
  }
}
