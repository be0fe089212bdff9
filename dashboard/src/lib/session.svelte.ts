/**
 * What the pressure engine has found for one device, as the dashboard shows it: the
 * current zone, the hold in progress, the open over-pressure warning, and this session's
 * holds and warnings. It follows the server's `engine` events and is reset from a
 * `session` snapshot on (re)connection, so it never disagrees with the server's engine.
 */
import type { SessionSnapshot } from '../../../server/contract/live-events.ts';
import type { EngineEvent, HoldResult, WarningResult, Zone } from '../../../server/engine/results.ts';

export interface HoldInProgress {
  readonly startMs: number;
  readonly targetReached: boolean;
  readonly longReached: boolean;
}

/** The zone as a word: never colour alone. */
export const ZONE_WORDS: Readonly<Record<Zone, string>> = {
  below: 'gentle',
  band: 'in band',
  above: 'firm',
  over: 'too much',
};

export class DeviceSession {
  zone = $state<Zone | null>(null);
  /** A press that has lasted `holdMinMs` (a hold), until it ends. */
  hold = $state.raw<HoldInProgress | null>(null);
  warning = $state.raw<WarningResult | null>(null);
  holds = $state.raw<HoldResult[]>([]);
  warnings = $state.raw<WarningResult[]>([]);
  /** The latest hold milestone in words, for a polite screen-reader announcement. */
  announcement = $state('');

  applySnapshot(snapshot: SessionSnapshot): void {
    const { state } = snapshot;
    this.zone = state.zone;
    this.hold = state.hold?.started === true ? { startMs: state.hold.startMs, targetReached: state.hold.targetReached, longReached: state.hold.longReached } : null;
    this.warning = state.warning;
    this.holds = snapshot.holds;
    this.warnings = snapshot.warnings.filter((warning) => warning.endMs !== null);
  }

  apply(events: readonly EngineEvent[]): void {
    for (const event of events) this.#apply(event);
  }

  #apply(event: EngineEvent): void {
    switch (event.type) {
      case 'zone.changed':
        this.zone = event.zone;
        break;
      case 'hold.started':
        this.hold = { startMs: event.startMs, targetReached: false, longReached: false };
        this.announcement = 'Hold started';
        break;
      case 'hold.target':
        if (this.hold !== null) this.hold = { ...this.hold, targetReached: true };
        this.announcement = 'Hold target reached';
        break;
      case 'hold.long':
        if (this.hold !== null) this.hold = { ...this.hold, longReached: true };
        this.announcement = 'Time to release';
        break;
      case 'hold.ended':
        this.hold = null;
        this.holds = [...this.holds, event.hold];
        this.announcement = `Hold ended after ${Math.round(event.hold.durationMs / 1000)} seconds`;
        break;
      case 'over.started':
        this.warning = event.warning;
        break;
      case 'over.ended':
        this.warning = null;
        this.warnings = [...this.warnings, event.warning];
        break;
    }
  }
}
