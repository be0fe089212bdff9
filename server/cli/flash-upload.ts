/**
 * The upload of `npm run flash`: Debian's avrdude talking STK500v1 to the board's own
 * Arduino bootloader (Optiboot on an Uno or a current Nano, ATmegaBOOT on an old Nano),
 * writing and verifying the flash; its progress becomes a fraction for the progress bar,
 * and its failures become messages that say what to do.
 *
 *   const result = await uploadHex({ port, board: BOARDS.uno, hexPath, onProgress: (phase, fraction) => ... });
 *
 * Why avrdude and not avrgirl-arduino (a dependency already): avrdude 7.1 is what the
 * Arduino IDE itself runs, Debian maintains it, it checks the chip's signature and reads
 * every byte back; avrgirl-arduino 5.0.1 bundles serialport 8-era code (the project pins
 * serialport 13 over it), is unmaintained since 2021, and is here only for its Firmata hex.
 */
import { spawn } from 'node:child_process';

export interface BoardSpec {
  readonly name: string;
  /** avrdude's part name and the signature the chip must report. */
  readonly part: 'm328p';
  readonly signature: string;
  /** The bootloader's speed. */
  readonly baudRate: number;
  readonly bootloader: string;
}

export const BOARDS = {
  uno: { name: 'Arduino Uno', part: 'm328p', signature: '0x1e950f', baudRate: 115_200, bootloader: 'Optiboot' },
  nano: { name: 'Arduino Nano (ATmega328P, current bootloader)', part: 'm328p', signature: '0x1e950f', baudRate: 115_200, bootloader: 'Optiboot' },
  'nano-old': { name: 'Arduino Nano (ATmega328P, old bootloader)', part: 'm328p', signature: '0x1e950f', baudRate: 57_600, bootloader: 'ATmegaBOOT' },
} as const satisfies Record<string, BoardSpec>;
export type BoardName = keyof typeof BOARDS;

export type UploadPhase = 'writing' | 'verifying';

export interface UploadOptions {
  readonly port: string;
  readonly board: BoardSpec;
  readonly hexPath: string;
  readonly onProgress: (phase: UploadPhase, fraction: number) => void;
  /** The avrdude program (tests may point at another). */
  readonly avrdude?: string;
}

export type UploadResult = { readonly ok: true; readonly bytes: number } | { readonly ok: false; readonly message: string };

/** avrdude prints 50 '#' per phase. */
const HASHES_PER_PHASE = 50;
/** Lines avrdude prints on a pseudo-terminal (no DTR to pulse): noise, not news. */
const PTY_NOISE = /ioctl\("TIOCM[GS]ET"\)/;

export function avrdudeArgs(options: Pick<UploadOptions, 'port' | 'board' | 'hexPath'>): string[] {
  // -D: the bootloader erases each page as it writes it (Optiboot has no chip erase)
  return ['-p', options.board.part, '-c', 'arduino', '-P', options.port, '-b', String(options.board.baudRate), '-D', '-U', `flash:w:${options.hexPath}:i`];
}

/** Runs avrdude; resolves with what happened (never rejects). */
export function uploadHex(options: UploadOptions): Promise<UploadResult> {
  return new Promise((resolve) => {
    const child = spawn(options.avrdude ?? 'avrdude', avrdudeArgs(options), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const progress = new ProgressReader(options.onProgress);
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('latin1');
      output += text;
      progress.read(text);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => resolve({ ok: false, message: `cannot run avrdude (${error.message}): install it with \`sudo apt-get install avrdude\` (bash test/system-deps.sh --check flash says what flashing needs)` }));
    child.on('close', (code) => {
      const bytes = /(\d+) bytes of flash verified/.exec(output);
      if (code === 0 && bytes !== null) resolve({ ok: true, bytes: Number(bytes[1]) });
      else resolve({ ok: false, message: explainAvrdudeFailure(output, options) });
    });
  });
}

/** Turns avrdude's "Writing | ####" lines into fractions of each phase. */
class ProgressReader {
  #phase: UploadPhase | null = null;
  #hashes = 0;
  readonly #report: UploadOptions['onProgress'];

  constructor(report: UploadOptions['onProgress']) {
    this.#report = report;
  }

  read(text: string): void {
    for (const part of text.split(/(Writing \||Reading \|)/)) {
      if (part === 'Writing |' || part === 'Reading |') {
        this.#phase = part.startsWith('Writing') ? 'writing' : this.#phase === 'writing' ? 'verifying' : null;
        this.#hashes = 0;
        continue;
      }
      if (this.#phase === null) continue;
      const hashes = /^[ #]*/.exec(part)?.[0].split('').filter((char) => char === '#').length ?? 0;
      if (hashes === 0) continue;
      this.#hashes = Math.min(HASHES_PER_PHASE, this.#hashes + hashes);
      this.#report(this.#phase, this.#hashes / HASHES_PER_PHASE);
    }
  }
}

/** The one thing to tell the user about a failed upload, from avrdude's own words. */
export function explainAvrdudeFailure(output: string, options: Pick<UploadOptions, 'port' | 'board'>): string {
  const said = output.split('\n').filter((line) => line.trim() !== '' && !PTY_NOISE.test(line));
  const tail = said.slice(-6).join('\n');
  // avrdude 7.1: "device 0xf3 != input 0x0c at addr 0x0040 (error)", then "verification mismatch"
  const mismatch = /device (0x[0-9a-f]+) != input (0x[0-9a-f]+) at addr (0x[0-9a-f]+)/i.exec(output);
  if (mismatch !== null || /verification (mismatch|error)/i.test(output)) {
    const where = mismatch === null ? '' : ` (first difference at byte ${mismatch[3]}: the board holds ${mismatch[1]}, the file ${mismatch[2]})`;
    return `verify failed: what the board's flash holds is not what was written${where}. Flash again; if it fails at the same byte, the chip's flash is worn or the board is faulty.`;
  }
  const signature = /device signature = (0x[0-9a-f]+)/i.exec(output);
  if (signature !== null && signature[1]?.toLowerCase() !== options.board.signature) {
    const got = signature[1]?.toLowerCase() ?? '?';
    const hint = got === '0x000000' || got === '0xffffff' ? 'the bootloader could not read it (a loose cable or a wrong --board)' : KNOWN_SIGNATURES[got] ?? 'another chip';
    return `wrong board type: the chip reports signature ${got} (${hint}); this firmware needs an ATmega328P (${options.board.signature}), as on an Uno or a Nano. Check --board and the board itself.`;
  }
  if (/Permission denied/i.test(output)) return `permission denied on ${options.port} (avrdude could not open it): see \`npm run doctor\` for the group to join`;
  if (/not in sync|not responding|cannot get into sync/i.test(output)) {
    const other = options.board.baudRate === 115_200 ? '--board nano-old (an old Nano\'s bootloader talks at 57600)' : '--board nano or --board uno (Optiboot talks at 115200)';
    return `the board's bootloader did not answer on ${options.port} at ${options.board.baudRate} baud: try ${other}; press the board's reset button just as the upload starts if its auto-reset does not work; make sure the port is the board's.\navrdude said:\n${tail}`;
  }
  return `avrdude failed:\n${tail}`;
}

const KNOWN_SIGNATURES: Readonly<Record<string, string>> = {
  '0x1e9406': 'an ATmega168, as on old Nanos and Diecimilas',
  '0x1e950f': 'an ATmega328P',
  '0x1e9514': 'an ATmega328 (not P)',
  '0x1e9587': 'an ATmega32U4, as on a Leonardo or Micro: it has no STK500 bootloader',
  '0x1e9801': 'an ATmega2560, as on a Mega',
};
