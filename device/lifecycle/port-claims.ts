/**
 * The serial ports this process holds: one registry for every transport (serial,
 * firmata, the emulators on their ptys), so that one never opens a port another holds,
 * not even to probe it (opening a port resets an Uno). A port is claimed before it is
 * opened, for a probe or for use, and released once it is closed. Two names of one
 * device node (a /dev/serial/by-id link and /dev/ttyACM0) are one port.
 *
 *   const claim = claimPort('/dev/ttyACM0', 'firmata?baud=57600');   // null: held already
 *   if (claim === null) throw new Error(`held by ${portHolder('/dev/ttyACM0')}`);
 *   ...open, use, close...
 *   claim.release();
 */
import { realpathSync } from 'node:fs';

export interface PortClaim {
  readonly path: string;
  /** The device node behind `path` (symlinks resolved): the registry's key. */
  readonly realPath: string;
  /** Who holds it, for messages (a transport's spec). */
  readonly holder: string;
  /** Gives the port up (idempotent). */
  release(): void;
}

const holders = new Map<string, string>();

/** The device node behind a path, or the path itself when it does not resolve (not there yet). */
export function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Claims a port for `holder`; null when a transport of this process holds it already. */
export function claimPort(path: string, holder: string): PortClaim | null {
  const realPath = realPathOf(path);
  if (holders.has(realPath)) return null;
  holders.set(realPath, holder);
  let released = false;
  return {
    path,
    realPath,
    holder,
    release: () => {
      if (released) return;
      released = true;
      holders.delete(realPath);
    },
  };
}

/** Who holds a port in this process (by any of its names), or null. */
export function portHolder(path: string): string | null {
  return holders.get(realPathOf(path)) ?? null;
}

/** Claims a port named on the command line, or throws naming who holds it. */
export function claimNamedPort(path: string, holder: string): PortClaim {
  const claim = claimPort(path, holder);
  if (claim === null) {
    throw new Error(`${path} is in use by another device of this server (${portHolder(path) ?? 'unknown'}): give each --device its own port`);
  }
  return claim;
}
