/**
 * Sound that guides a hold, fed with the devices' state on every change: the guide tone
 * follows the device pressing hardest against its band; chimes mark hold start, target
 * reached and, repeated, time to release; spoken cues say the hold's time, "target",
 * "release" and "ease off". It stops for a device whose reading is not current (an old
 * number must not guide anyone), and yields to the over-pressure alarm: while a warning is
 * open the tone is silent and no chime plays.
 *
 *   const guidance = new SoundGuidance(audio);
 *   guidance.update(devices, settings.values, openWarningKeys);
 */
import type { HoldInProgress } from '../session.svelte.ts';
import type { AudioOutput } from './audio-output.ts';
import { Chimes, type ChimeKind } from './chimes.ts';
import type { SoundSettingsValues } from './settings.svelte.ts';
import { Speaker, type SpokenCue } from './speech.ts';
import { GuideTone, type ForceAgainstPreset } from './tone.ts';

/** What guidance needs of one device. */
export interface GuidedDevice {
  readonly deviceId: string;
  /** Whether its reading is current (see freshness.ts): only then does it guide. */
  readonly current: boolean;
  readonly forceN: number | null;
  readonly preset: Omit<ForceAgainstPreset, 'forceN'>;
  readonly hold: HoldInProgress | null;
  /** Device time since the hold started, ms (null without a hold). */
  readonly holdElapsedMs: number | null;
}

/** The release chime repeats this often past the maximum hold. */
export const RELEASE_REPEAT_MS = 5000;
const ELAPSED_STEP_MS = 30_000;
const ELAPSED_CUES: readonly SpokenCue[] = ['thirty seconds', 'one minute', 'ninety seconds', 'two minutes'];

interface Remembered {
  readonly hold: HoldInProgress | null;
  /** Whole 30 s steps of the hold already passed. */
  readonly elapsedSteps: number;
  readonly current: boolean;
}

export class SoundGuidance {
  readonly #tone: GuideTone;
  readonly #chimes: Chimes;
  readonly #speaker = new Speaker();
  readonly #remembered = new Map<string, Remembered>();
  readonly #warningKeysHeard = new Set<string>();
  #settings: SoundSettingsValues = { tone: false, chimes: false, speech: false };
  #releaseTimer: ReturnType<typeof setInterval> | null = null;

  constructor(audio: AudioOutput) {
    this.#tone = new GuideTone(audio);
    this.#chimes = new Chimes(audio);
  }

  update(devices: readonly GuidedDevice[], settings: SoundSettingsValues, openWarningKeys: readonly string[]): void {
    this.#settings = settings;
    const alarmOpen = openWarningKeys.length > 0;
    for (const key of openWarningKeys) {
      if (this.#warningKeysHeard.has(key)) continue;
      this.#warningKeysHeard.add(key);
      this.#say('ease off');
    }
    this.#tone.follow(settings.tone && !alarmOpen ? hardestPressing(devices) : null);
    for (const device of devices) this.#milestones(device, alarmOpen);
    const releaseDue = !alarmOpen && devices.some((device) => device.current && device.hold?.longReached === true);
    this.#repeatRelease(releaseDue);
  }

  close(): void {
    this.#tone.close();
    this.#repeatRelease(false);
    this.#speaker.silence();
  }

  /**
   * Chimes and cues for what changed since the device was last current (nothing on first
   * sight). While not current nothing sounds and nothing is marked as heard, so a
   * milestone passed meanwhile is told once the reading is current again.
   */
  #milestones(device: GuidedDevice, alarmOpen: boolean): void {
    const before = this.#remembered.get(device.deviceId);
    const elapsedSteps = device.holdElapsedMs === null ? 0 : Math.floor(device.holdElapsedMs / ELAPSED_STEP_MS);
    const now: Remembered = { hold: device.hold, elapsedSteps, current: device.current };
    if (before === undefined) {
      this.#remembered.set(device.deviceId, now);
      return;
    }
    if (!device.current) {
      if (before.current) {
        this.#speaker.silence();
        this.#remembered.set(device.deviceId, { ...before, current: false });
      }
      return;
    }
    this.#remembered.set(device.deviceId, now);
    const { hold } = device;
    if (alarmOpen || hold === null) return;
    if (hold.longReached && before.hold?.longReached !== true) this.#cue('release', 'release');
    else if (hold.targetReached && before.hold?.targetReached !== true) this.#cue('target', 'target');
    else if (before.hold === null) this.#cue('start', null);
    else if (elapsedSteps > before.elapsedSteps) {
      const spoken = ELAPSED_CUES[elapsedSteps - 1];
      if (spoken !== undefined) this.#say(spoken);
    }
  }

  #cue(chime: ChimeKind, spoken: SpokenCue | null): void {
    if (this.#settings.chimes) this.#chimes.play(chime);
    if (spoken !== null) this.#say(spoken);
  }

  #say(cue: SpokenCue): void {
    if (this.#settings.speech) this.#speaker.say(cue);
  }

  #repeatRelease(due: boolean): void {
    if (due && this.#releaseTimer === null) {
      this.#releaseTimer = setInterval(() => {
        if (this.#settings.chimes) this.#chimes.play('release');
      }, RELEASE_REPEAT_MS);
    } else if (!due && this.#releaseTimer !== null) {
      clearInterval(this.#releaseTimer);
      this.#releaseTimer = null;
    }
  }
}

/** The current device pressing hardest relative to its band, as the tone's input (null: none). */
function hardestPressing(devices: readonly GuidedDevice[]): ForceAgainstPreset | null {
  let best: ForceAgainstPreset | null = null;
  let bestShare = Number.NEGATIVE_INFINITY;
  for (const device of devices) {
    if (!device.current || device.forceN === null) continue;
    const share = (device.forceN - device.preset.bandLowN) / (device.preset.bandHighN - device.preset.bandLowN);
    if (share > bestShare) {
      bestShare = share;
      best = { ...device.preset, forceN: device.forceN };
    }
  }
  return best;
}
