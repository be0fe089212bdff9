// Starts the real server in-process on an ephemeral port for a test, with logs silenced.
import { pino } from 'pino';
import { startServer, type RunningServer, type StartOptions } from '../../server/app.ts';
import { presetConfig, type PresetName } from '../../server/engine/presets.ts';

/** `more`: further options, e.g. `{ room: 'Room 2' }`. */
export async function startTestServer(devices: readonly string[], port = 0, preset: PresetName = 'shoulders', more: Partial<StartOptions> = {}): Promise<RunningServer> {
  return startServer({ host: '127.0.0.1', port, devices, seed: 1234, engine: { preset, config: presetConfig(preset) }, logger: pino({ level: 'silent' }), ...more });
}
