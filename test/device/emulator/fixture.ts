/**
 * Helpers for the emulator tests: compiles the fixture program (fixtures/echo.c) with
 * avr-gcc into a temporary directory, and talks to it over the emulator's pseudo-terminal
 * through the real `serialport` package (a line reader with a bounded buffer, and raw
 * byte reads for binary echoes).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SerialPort } from 'serialport';

const FIXTURE_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'echo.c');

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr}`))));
  });
}

/** A built fixture: its hex, and the directory to remove when done. */
export interface Fixture {
  readonly hexPath: string;
  readonly baudRate: number;
  remove(): Promise<void>;
}

/** Compiles fixtures/echo.c for the ATmega328P at 16 MHz with its UART at `baudRate`. */
export async function buildFixture(baudRate = 115_200): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'knotmeter-emu-fixture-'));
  const elf = join(dir, 'echo.elf');
  const hexPath = join(dir, 'echo.hex');
  await run('avr-gcc', ['-mmcu=atmega328p', '-DF_CPU=16000000UL', `-DBAUD=${baudRate}UL`, '-Os', '-Wall', '-Wextra', '-Werror', '-o', elf, FIXTURE_SOURCE]);
  await run('avr-objcopy', ['-O', 'ihex', '-R', '.eeprom', elf, hexPath]);
  return { hexPath, baudRate, remove: () => rm(dir, { recursive: true, force: true }) };
}

const MAX_BUFFERED_BYTES = 1 << 20;

/** The fixture's end of the line: a real SerialPort on the emulator's pty. */
export class SerialLink {
  readonly #port: SerialPort;
  #buffer = Buffer.alloc(0);
  #waiters = new Set<() => void>();

  private constructor(port: SerialPort) {
    this.#port = port;
    port.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      if (this.#buffer.length > MAX_BUFFERED_BYTES) this.#buffer = this.#buffer.subarray(this.#buffer.length - MAX_BUFFERED_BYTES);
      for (const wake of this.#waiters) wake();
    });
  }

  static open(path: string, baudRate: number): Promise<SerialLink> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate, autoOpen: false });
      port.open((error) => (error ? reject(error) : resolve(new SerialLink(port))));
    });
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#port.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Resolves with the first complete line (without `\n`) that matches, dropping the lines before it. */
  async waitForLine(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    return this.#waitFor(timeoutMs, `a line matching ${pattern}`, () => {
      for (;;) {
        const end = this.#buffer.indexOf(0x0a);
        if (end < 0) return null;
        const line = this.#buffer.subarray(0, end).toString('latin1');
        this.#buffer = this.#buffer.subarray(end + 1);
        if (pattern.test(line)) return line;
      }
    });
  }

  /** Sends a line and resolves with the first reply line that matches. */
  async request(line: string, reply: RegExp, timeoutMs = 5000): Promise<string> {
    await this.write(`${line}\n`);
    return this.waitForLine(reply, timeoutMs);
  }

  /** Resolves with exactly `count` bytes, as they arrive. */
  async readBytes(count: number, timeoutMs = 5000): Promise<Buffer> {
    return this.#waitFor(timeoutMs, `${count} bytes`, () => {
      if (this.#buffer.length < count) return null;
      const bytes = this.#buffer.subarray(0, count);
      this.#buffer = this.#buffer.subarray(count);
      return Buffer.from(bytes);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#port.isOpen) {
        resolve();
        return;
      }
      this.#port.close(() => resolve());
    });
  }

  #waitFor<T>(timeoutMs: number, what: string, take: () => T | null): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const result = take();
        if (result === null) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(result);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; buffered: ${JSON.stringify(this.#buffer.toString('latin1').slice(-200))}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}

/** Whether a process with this id still exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
