/**
 * The error a wrong setting becomes, shared by the server library and its command lines:
 * `startServer` throws it for a `--data-dir` it cannot use, the CLI helpers for a bad flag,
 * and every command prints its message and exits with `EXIT_USAGE`.
 *
 *     throw new UsageError('--port needs a whole number from 0 to 65535 (got --port "x")');
 *     // in a command: if (error instanceof UsageError) { output.stderr(error.message); return EXIT_USAGE; }
 */

/** Exit status for a mistake on the command line (a flag, a config file, an input file). */
export const EXIT_USAGE = 2;

/** A mistake in what the user gave (a flag, a file, a folder); its message names it and what to do. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
