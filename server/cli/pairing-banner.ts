/**
 * What `npm start` prints when clients must pair: a viewer and an operator pairing link
 * per address a tablet can reach the server by (each code works once, for 5 minutes),
 * and the viewer link as a QR code to scan. `npm run pair -- new` makes more later.
 *
 *   process.stdout.write(pairingBanner(server.url, '0.0.0.0', server.pairing.store));
 */
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { CODE_LIFETIME_MS, type PairingStore, type Role } from '../security/pairing.ts';

interface QrcodeTerminal {
  generate(input: string, options: { readonly small: boolean }, callback: (qr: string) => void): void;
}
// qrcode-terminal is CommonJS without types: its one function, typed here.
const qrcode = createRequire(import.meta.url)('qrcode-terminal') as QrcodeTerminal;

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '']);

/** The addresses a tablet may use: the bound one, or every non-loopback IPv4 address of this machine when bound to all. */
export function reachableOrigins(url: string, boundAddress: string): string[] {
  const listening = new URL(url);
  if (!WILDCARD_ADDRESSES.has(boundAddress)) return [listening.origin];
  const addresses = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []).filter((entry) => entry.family === 'IPv4' && !entry.internal);
  if (addresses.length === 0) return [listening.origin];
  return addresses.map((entry) => `${listening.protocol}//${entry.address}:${listening.port}`);
}

export function pairingLink(origin: string, code: string): string {
  return `${origin}/pair?code=${code}`;
}

export function qrCode(text: string): string {
  let drawn = '';
  qrcode.generate(text, { small: true }, (qr) => (drawn = qr));
  return drawn;
}

export function pairingBanner(url: string, boundAddress: string, store: PairingStore): string {
  const origins = reachableOrigins(url, boundAddress);
  const codes: Record<Role, string> = { viewer: store.newCode('viewer').code, operator: store.newCode('operator').code };
  const minutes = CODE_LIFETIME_MS / 60_000;
  const lines = [
    `Pairing: every device must be paired before it can open the dashboard. Open a link on the tablet (each pairs one device, for ${minutes} minutes):`,
    ...origins.map((origin) => `  viewer (live view, review):                   ${pairingLink(origin, codes.viewer)}`),
    ...origins.map((origin) => `  operator (presets, labels, calibration, deletes): ${pairingLink(origin, codes.operator)}`),
    'Or scan the viewer link:',
    qrCode(pairingLink(origins[0] ?? url, codes.viewer)),
    'More links: npm run pair -- new --role viewer|operator; paired devices: npm run pair -- list, npm run pair -- revoke NAME',
  ];
  return `${lines.join('\n')}\n`;
}
