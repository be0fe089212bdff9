/**
 * The pairing API for the dashboard: whether this server pairs devices, who this device
 * is, the paired devices (GET /api/pairing), and revoking one (DELETE /api/pairing/:name,
 * operators only).
 */
import { pairingStateSchema, type PairingState } from '../../../server/contract/pairing.ts';

async function errorOf(response: Response): Promise<Error> {
  const body = (await response.json().catch(() => null)) as { error?: unknown } | null;
  return new Error(typeof body?.error === 'string' ? body.error : `the server answered ${response.status}`);
}

export async function getPairing(): Promise<PairingState> {
  let response: Response;
  try {
    response = await fetch('/api/pairing');
  } catch {
    throw new Error('the server cannot be reached: is it running?');
  }
  if (!response.ok) throw await errorOf(response);
  return pairingStateSchema.parse(await response.json());
}

export async function revokePairing(name: string): Promise<void> {
  const response = await fetch(`/api/pairing/${encodeURIComponent(name)}`, { method: 'DELETE' });
  if (response.status !== 204) throw await errorOf(response);
}
