/**
 * The devices in the terminal: each device's link state as it changes, and its errors,
 * logged where the server was started (not only on the dashboard), so a port that cannot
 * be opened says why at once. An error is logged once until it changes: a port retried
 * every second is one warning, not one a second.
 *
 *   const listener = fanOut(broadcaster, recorder, deviceLog(logger.child({ part: 'device' })));
 *
 * Pipeline position: a listener beside the broadcaster and the recorder.
 */
import type { DeviceInfo, DeviceStatus } from './contract/live-events.ts';
import type { Logger } from './log.ts';
import type { PipelineListener } from './pipeline.ts';

interface Logged {
  state: DeviceStatus['state'] | null;
  error: string | null;
  spec: string | null;
}

export function deviceLog(logger: Logger): PipelineListener {
  const devices = new Map<string, Logged>();
  const loggedFor = (deviceId: string): Logged => {
    let logged = devices.get(deviceId);
    if (logged === undefined) {
      logged = { state: null, error: null, spec: null };
      devices.set(deviceId, logged);
    }
    return logged;
  };
  return {
    onReadings: () => undefined,
    onEngineEvents: () => undefined,
    onSession: () => undefined,
    onInfo(info: DeviceInfo, replacesDeviceId: string | null) {
      // A serial device is named by its port until it says who it is: keep what was logged.
      const before = replacesDeviceId === null ? undefined : devices.get(replacesDeviceId);
      if (before !== undefined && replacesDeviceId !== null) {
        devices.delete(replacesDeviceId);
        devices.set(info.deviceId, before);
        logger.info({ deviceId: info.deviceId, spec: info.spec }, `device on ${replacesDeviceId} is ${info.deviceId}`);
      }
      loggedFor(info.deviceId).spec = info.spec;
    },
    onStatus(status: DeviceStatus) {
      const logged = loggedFor(status.deviceId);
      // Lost after it was connected: the same error as before is news again.
      if (logged.state === 'connected' && status.state === 'disconnected') logged.error = null;
      const fields = { deviceId: status.deviceId, spec: logged.spec ?? undefined, state: status.state };
      const newError = status.lastError !== null && status.lastError !== logged.error ? status.lastError : null;
      if (status.lastError !== null) logged.error = status.lastError;
      const stateChanged = status.state !== logged.state;
      logged.state = status.state;
      if (newError !== null) logger.warn(fields, `device ${status.deviceId} ${status.state}: ${newError}`);
      else if (stateChanged && status.state !== 'connecting') logger.info(fields, `device ${status.deviceId} ${status.state}`);
      else if (stateChanged) logger.debug(fields, `device ${status.deviceId} connecting`);
    },
  };
}
