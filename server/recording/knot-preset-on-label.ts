/**
 * A knot's custom preset (made from its PPT, accepted over REST) runs whenever that knot
 * is labelled on a device: the device's engine switches to it, as a preset picked on the
 * dashboard does (audited as a `preset` change). docs/ppt.md, "A preset from the PPT",
 * states the rule with the preset picker: the latest choice wins. Labelling a knot with no
 * preset of its own changes nothing; picking a body-area preset afterwards replaces the
 * knot's until the knot is labelled again.
 *
 *   linkRecordingToLive(io, requests, () => recording, shown, knotPresetOnLabel({ store, pipelines, audit, logger }));
 *
 * Pipeline position: live label request -> **this** -> device pipeline (engine settings).
 */
import type { LabelHold } from '../contract/live-events.ts';
import type { Logger } from '../log.ts';
import type { DevicePipeline } from '../pipeline.ts';
import type { AuditTrail } from './audit-trail.ts';
import type { SessionStore } from './store.ts';

export interface KnotPresetOnLabelOptions {
  readonly store: () => SessionStore | null;
  readonly pipelines: () => readonly DevicePipeline[];
  readonly audit: AuditTrail;
  readonly logger: Logger;
}

/** What to call once a device's holds are labelled (`client`: who labelled them). */
export function knotPresetOnLabel(options: KnotPresetOnLabelOptions): (label: LabelHold, client: string) => void {
  return (label, client) => {
    const { bodyArea, knot, deviceId } = label;
    const store = options.store();
    if (bodyArea === null || knot === null || store === null) return;
    store.ppt
      .knotPreset(bodyArea, knot)
      .then((preset) => {
        const pipeline = options.pipelines().find((candidate) => candidate.info?.deviceId === deviceId);
        const info = pipeline?.info ?? null;
        if (preset === null || pipeline === undefined || info === null) return;
        if (info.preset === null && JSON.stringify(info.engineConfig) === JSON.stringify(preset.engineConfig)) return;
        pipeline.useConfig(preset.engineConfig);
        options.logger.info({ deviceId, knotPreset: preset.id }, `knot preset "${preset.name}" selected by its label`);
        options.audit({ client, action: 'preset', deviceId, sessionId: null, before: { preset: info.preset ?? 'custom', overLimitN: info.engineConfig.overLimitN }, after: { preset: preset.name, knotPreset: preset.id, overLimitN: preset.engineConfig.overLimitN } });
      })
      .catch((error: unknown) => options.logger.error({ err: error, deviceId }, 'the knot presets cannot be read: the engine keeps its preset'));
  };
}
