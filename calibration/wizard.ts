/**
 * The calibration wizard, `npm run calibrate -- --device SPEC`: opens the device itself
 * (through the transport registry, like the server), then walks a person through a
 * calibration in the terminal: tare with nothing on the tip (refused while the reading
 * moves), then known loads one by one (they type each mass; it is captured once the
 * reading has settled, with a progress bar meanwhile), then the fit with its residual
 * table and a plot, then save. Input is read line by line, so it can be scripted.
 *
 * At the load prompt: a load (`500 g`, `1 kg`, `2 lb`, `9.8 N`), `undo` (drop the last
 * point), an empty line (done: fit), or `q` (quit without saving) at any prompt. A tare
 * on a tip that does not look bare, or a load that settles far from the one typed, is
 * refused with what was seen, and kept only if the person answers `y` to keep it; so is a
 * save whose curve moves forces by more than 25 % from the profile in force (change.ts). The
 * closing hint is the `npm start` command that runs this same device (seed included).
 *
 * Only this device's profile file is read: another device's corrupt file is no concern
 * of this calibration (its own is refused, named).
 */
import { resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { DEVICE_ID_PATTERN } from '../device/device-id.ts';
import { parseDeviceSpec } from '../device/device-spec.ts';
import { defaultCalibration, type ForceCalibration } from '../device/sensors.ts';
import { createTransport } from '../device/registry.ts';
import type { RawSample, Transport, TransportStatus } from '../device/transport.ts';
import { calibrationChange } from './change.ts';
import { CalibrationError, MIN_POINTS, type FitResult } from './fit.ts';
import { newProfileEntry, profileCalibration } from './profile.ts';
import { fitSummary, residualTable, textPlot } from './report.ts';
import { CalibrationSession, ImplausibleReadingError, type CaptureProgress } from './session.ts';
import { DEFAULT_CONTACT_AREA_CM2, LoadError, parseLoad } from './units.ts';
import type { FileProfileStore } from './store.ts';

/** How long a device has to say who it is once opened (a serial Arduino resets on open). */
const IDENTIFY_TIMEOUT_MS = 15_000;
const BAR_WIDTH = 24;

export interface WizardOptions {
  readonly deviceSpec: string;
  readonly store: FileProfileStore;
  /** The data directory the store is in, for the hint that shows the page. */
  readonly dataDir: string;
  /** Contact area to save; null: the device's current profile's, or the default. */
  readonly areaCm2: number | null;
  readonly seed: number | undefined;
}

export interface WizardIo {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream & { readonly isTTY?: boolean };
}

/** Thrown when the person quits or the input ends: nothing is saved. */
class Quit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

/** Lines from the input, one at a time, kept if they come before they are asked for (scripts). */
class LineQueue {
  readonly #lines: string[] = [];
  readonly #waiting: ((line: string | null) => void)[] = [];
  readonly #reader: Interface;
  #ended = false;

  constructor(input: NodeJS.ReadableStream) {
    const reader = createInterface({ input, terminal: false });
    this.#reader = reader;
    reader.on('line', (line) => {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) this.#lines.push(line);
      else waiter(line);
    });
    reader.on('close', () => {
      this.#ended = true;
      for (const waiter of this.#waiting.splice(0)) waiter(null);
    });
  }

  /** Stops reading (so a terminal's input no longer keeps the process alive). */
  close(): void {
    this.#reader.close();
  }

  next(): Promise<string | null> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/** `text` as one word for a POSIX shell: bare when nothing in it is special, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The device spec as typed, plus the seed its transport ran with when the spec did not
 * say it (a simulated device's id comes from its seed: without it `npm start` would run
 * another device, and the profile just made would not be its).
 */
export function sameDeviceSpec(typedSpec: string, transportSpec: string): string {
  const seed = parseDeviceSpec(transportSpec).options.get('seed');
  if (seed === undefined || parseDeviceSpec(typedSpec).options.has('seed')) return typedSpec;
  return `${typedSpec}${typedSpec.includes('?') ? '&' : '?'}seed=${seed}`;
}

/** The command that runs this very device in the server, quoted to be pasted into a shell. */
export function serverCommand(dataDir: string, typedSpec: string, transportSpec: string): string {
  return `npm start -- --data-dir ${shellWord(resolve(dataDir))} --device ${shellWord(sameDeviceSpec(typedSpec, transportSpec))}`;
}

/** The firmware's TARE, when the transport's device takes it (our firmware over serial). */
export function deviceTare(transport: Transport): (() => Promise<void>) | undefined {
  return transport.tare === undefined ? undefined : () => transport.tare?.() ?? Promise.resolve();
}

export class Wizard {
  readonly #options: WizardOptions;
  readonly #io: WizardIo;
  readonly #lines: LineQueue;

  constructor(options: WizardOptions, io: WizardIo) {
    this.#options = options;
    this.#io = io;
    this.#lines = new LineQueue(io.input);
  }

  /** Runs the whole wizard; resolves with the exit status (0 saved or declined, 1 failed or input ended). */
  async run(): Promise<number> {
    const { transport, calibration } = createTransport(this.#options.deviceSpec, { instance: 0, seed: this.#options.seed });
    let session: CalibrationSession | null = null;
    let status: TransportStatus | null = null;
    this.#say(`Opening ${this.#options.deviceSpec} ...`);
    await transport.start({
      onSamples: (batch: readonly RawSample[]) => session?.feed(
        batch.map((sample) => sample.deviceTimeUs / 1000),
        batch.map((sample) => sample.raw),
      ),
      onStatus: (next) => (status = next),
    });
    try {
      const identity = await this.#identify(() => status);
      const current = this.#currentCalibration(identity, calibration);
      session = new CalibrationSession({
        deviceId: identity.deviceId,
        sensor: identity.sensor,
        toNewtons: (raw) => current.toNewtons(raw),
        tareDevice: identity.sensor === 'hx711' ? deviceTare(transport) : undefined,
      });
      return await this.#walkThrough(session, identity, transport.spec);
    } catch (error) {
      if (error instanceof Quit) {
        this.#say(error.message);
        return error.exitCode;
      }
      throw error;
    } finally {
      session?.close('the wizard ended');
      this.#lines.close();
      await transport.stop();
    }
  }

  async #walkThrough(session: CalibrationSession, identity: TransportStatus, transportSpec: string): Promise<number> {
    await this.#tare(session);
    this.#say('');
    this.#say('Step 2 of 3: known loads. Put a known mass on the tip and leave it there, type its mass (500 g, 1 kg, 2 lb, or a force: 9.8 N) and press Enter.');
    this.#say(`Spread ${identity.sensor === 'fsr' ? '4 to 8 loads over the range you press with (an FSR is far from linear)' : 'a few loads over the range you press with'}; at least ${MIN_POINTS} points in all. \`undo\` drops the last point; an empty line when done.`);
    for (;;) {
      const result = await this.#captureLoads(session);
      this.#say('');
      this.#say('Step 3 of 3: the fit.');
      this.#say(fitSummary(result));
      this.#say('');
      this.#say(residualTable(result));
      this.#say('');
      this.#say(textPlot(result));
      this.#say('');
      this.#say(`The dashboard's calibration page shows it too, live: ${serverCommand(this.#options.dataDir, this.#options.deviceSpec, transportSpec)}, then http://127.0.0.1:8080/#/calibration/${session.deviceId}`);
      const answer = (await this.#ask(`Save this calibration for device ${session.deviceId} in ${this.#options.store.pathOf(session.deviceId)}? [Y/n, or a load to add a point] `)).trim();
      if (answer === '' || /^y(es)?$/i.test(answer)) {
        await this.#confirmChange(session, result);
        this.#save(session, result);
        return 0;
      }
      if (/^no?$/i.test(answer)) throw new Quit(0, 'Nothing saved.');
      await this.#addLoad(session, answer);
    }
  }

  async #tare(session: CalibrationSession): Promise<void> {
    this.#say('');
    this.#say(`Step 1 of 3: tare. Take everything off the tip and let it rest${session.sensor === 'hx711' ? ' (the device re-zeros too)' : ''}. Press Enter to tare.`);
    let confirm = false;
    for (;;) {
      if (!confirm) await this.#ask('tare> ');
      try {
        const tare = await session.tare({ confirm });
        this.#say(`Tared: zero at ${tare.raw.toFixed(1)} counts (±${tare.sdRaw.toFixed(1)})${tare.onDevice ? ', after the device re-zeroed' : ''}.`);
        return;
      } catch (error) {
        if (!(error instanceof CalibrationError)) throw error;
        if (error instanceof ImplausibleReadingError) {
          this.#say(`${error.message}.`);
          confirm = await this.#confirm('Tare anyway, with this reading as zero? [y/N] ');
          if (!confirm) this.#say('Not tared. Take everything off the tip, then press Enter to tare (or q to quit).');
          continue;
        }
        confirm = false;
        this.#say(`${error.message}. Press Enter to try again, or q to quit.`);
      }
    }
  }

  /** Loads until an empty line with enough points for a fit; resolves with the fit. */
  async #captureLoads(session: CalibrationSession): Promise<FitResult> {
    for (;;) {
      const line = (await this.#ask(`load ${session.points.filter((point) => point.kind === 'load').length + 1}> `)).trim();
      if (line === '') {
        try {
          return session.fit();
        } catch (error) {
          if (!(error instanceof CalibrationError)) throw error;
          this.#say(`${error.message}.`);
          continue;
        }
      }
      if (line === 'undo') {
        const last = session.points.length - 1;
        if (last < 0 || session.points[last]?.kind === 'zero') this.#say('No load to undo.');
        else {
          session.removePoint(last);
          this.#say('Dropped the last point.');
        }
        continue;
      }
      await this.#addLoad(session, line);
    }
  }

  async #addLoad(session: CalibrationSession, text: string): Promise<void> {
    let load;
    try {
      load = parseLoad(text);
    } catch (error) {
      if (!(error instanceof LoadError)) throw error;
      this.#say(`${error.message}.`);
      return;
    }
    for (let confirm = false; ; ) {
      try {
        const point = await session.capture(load, (progress) => this.#progress(progress), { confirm });
        this.#endProgress();
        this.#say(`  captured ${point.forceN.toFixed(3)} N at ${point.raw.toFixed(1)} counts (±${(point.sdRaw ?? 0).toFixed(1)}).`);
        return;
      } catch (error) {
        this.#endProgress();
        if (!(error instanceof CalibrationError)) throw error;
        this.#say(`  ${error.message}.`);
        if (!(error instanceof ImplausibleReadingError)) return;
        // Kept only on a yes: the point is measured again, so it is the load on the tip now.
        confirm = await this.#confirm(`  Keep the load on the tip now as ${text.trim()} anyway? [y/N] `);
        if (!confirm) {
          this.#say('  Not captured. Put the right load on (or type the load that is on), then type it again.');
          return;
        }
      }
    }
  }

  /** A yes/no question whose default is no. */
  async #confirm(question: string): Promise<boolean> {
    return /^y(es)?$/i.test((await this.#ask(question)).trim());
  }

  /** A calibration that moves forces a lot is saved only on a yes (default no). */
  async #confirmChange(session: CalibrationSession, result: FitResult): Promise<void> {
    const { message } = calibrationChange(result, this.#options.store.active(session.deviceId));
    if (message === null) return;
    this.#say(`Careful: ${message}.`);
    if (!(await this.#confirm('Save it anyway? [y/N] '))) throw new Quit(0, 'Nothing saved. Check the loads, then calibrate again.');
  }

  #save(session: CalibrationSession, result: FitResult): void {
    const store = this.#options.store;
    const areaCm2 = this.#options.areaCm2 ?? store.active(session.deviceId)?.areaCm2 ?? DEFAULT_CONTACT_AREA_CM2;
    const file = store.append(session.deviceId, newProfileEntry(result, { areaCm2, madeWith: 'wizard' }));
    const kept = file.history.length - 1;
    this.#say(`Saved to ${store.pathOf(session.deviceId)}${kept > 0 ? ` (entry ${file.history.length}; the ${kept} before it ${kept === 1 ? 'is' : 'are'} kept)` : ''}. A running server switches to it at once.`);
  }

  #currentCalibration(identity: TransportStatus, vouched: ForceCalibration | null): ForceCalibration {
    const active = this.#options.store.active(identity.deviceId);
    if (active !== null) {
      this.#say(`Device ${identity.deviceId} (${identity.sensor}): calibrated ${active.createdAt}; a new calibration is added to its history.`);
      return profileCalibration(active);
    }
    this.#say(`Device ${identity.deviceId} (${identity.sensor}): ${vouched === null ? 'not calibrated yet (it reads through the documented default curve)' : 'simulated, on its exact curve'}.`);
    return vouched ?? defaultCalibration(identity.sensor);
  }

  /** Waits until the device has said who it is. */
  async #identify(status: () => TransportStatus | null): Promise<TransportStatus> {
    const startedMs = performance.now();
    for (;;) {
      const current = status();
      if (current !== null && current.state === 'connected' && DEVICE_ID_PATTERN.test(current.deviceId)) return current;
      if (performance.now() - startedMs > IDENTIFY_TIMEOUT_MS) {
        const why = current?.lastError === null || current?.lastError === undefined ? '' : ` (${current.lastError})`;
        throw new Quit(1, `${this.#options.deviceSpec} did not say who it is within ${IDENTIFY_TIMEOUT_MS / 1000} s${why}: is it plugged in and running the Knotmeter firmware? Nothing saved.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #ask(prompt: string): Promise<string> {
    this.#io.output.write(prompt);
    const line = await this.#lines.next();
    if (!this.#io.output.isTTY) this.#io.output.write(`${line ?? ''}\n`);
    if (line === null) throw new Quit(1, 'The input ended before the calibration was saved: nothing saved.');
    if (line.trim() === 'q') throw new Quit(0, 'Quit: nothing saved.');
    return line;
  }

  #barShown = false;
  #lastPhase = '';

  /** A bar redrawn in place on a terminal; elsewhere (a script, a log) a line per phase. */
  #progress(progress: CaptureProgress): void {
    if (this.#io.output.isTTY === true) {
      const filled = Math.round(progress.fraction * BAR_WIDTH);
      this.#io.output.write(`\r  [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${progress.message}\x1b[K`);
      this.#barShown = true;
      return;
    }
    if (progress.phase !== this.#lastPhase) this.#say(`  ${progress.phase === 'waiting' ? progress.message : 'settling...'}`);
    this.#lastPhase = progress.phase;
  }

  #endProgress(): void {
    if (this.#barShown) this.#io.output.write('\n');
    this.#barShown = false;
    this.#lastPhase = '';
  }

  #say(line: string): void {
    this.#io.output.write(`${line}\n`);
  }
}
