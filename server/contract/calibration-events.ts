/**
 * The calibration page's messages on the live stream, re-exported for the contract:
 * what the server says about a device's calibration (`calibrationDetailSchema` in every
 * device's info, the `calibration` event) and the page's requests (tare, capture, cancel,
 * remove a point, start over, save). Declared in `calibration/messages.ts`, beside what
 * they describe, because the calibration layer needs them and may not import the server;
 * `live-events.ts` lists them with every other event.
 */
export {
  calibrationDetailSchema,
  calibrationRequestSchemas,
  calibrationStateSchema,
  fitPreviewSchema,
  type CalibrationDetail,
  type CalibrationState,
  type FitPreview,
} from '../../calibration/messages.ts';
