/**
 * What a preset made from a PPT needs of a device running here (`PptDeviceContext`): its
 * alarm ceiling in newtons through the device's own calibration, and the preset in force.
 * The ceiling is the one the device reports (HELLO's, lowered on the device or not); for a
 * device that reports none (the simulator, Firmata) the firmware's default (device/protocol's
 * 767 counts for an FSR, 3 852 000 for an HX711).
 *
 *   apiRoutes({ ..., pptDevice: (id) => pptDeviceOf(pipelines.find((p) => p.info?.deviceId === id)) });
 *
 * Pipeline position: device pipeline -> **this** -> REST API (preset preview and accept).
 */
import { DEFAULT_ALARM_CEILING_RAW } from '../../device/protocol/device-messages.ts';
import type { DevicePipeline } from '../pipeline.ts';
import type { PptDeviceContext } from './routes.ts';

export function pptDeviceOf(pipeline: DevicePipeline | undefined): PptDeviceContext | null {
  const info = pipeline?.info ?? null;
  if (pipeline === undefined || info === null) return null;
  const ceilingN = pipeline.toNewtons(pipeline.status().alarmCeilingRaw ?? DEFAULT_ALARM_CEILING_RAW[info.sensor]);
  return { ceilingN: Number.isFinite(ceilingN) ? ceilingN : null, presetName: info.preset ?? 'custom', engineConfig: info.engineConfig };
}
