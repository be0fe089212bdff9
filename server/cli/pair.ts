/**
 * `npm run pair`: the paired devices of a server's data folder, from the command line.
 *
 *   npm run pair -- list                          names, roles, when paired and last seen
 *   npm run pair -- revoke NAME                   that device is refused from now on
 *   npm run pair -- new --role operator [--url http://192.168.1.20:8080]
 *
 * A running server keeps its codes in memory, out of this process's reach: `new` writes
 * its code's hash (5 minutes, one use) into DIR/pairing.json, which the server re-reads
 * when it changes, as it does after `revoke` (the device's open live view is cut within
 * seconds). Exit code 0, 1 when revoke names no device, 2 for a usage mistake.
 */
import { join } from 'node:path';
import { networkInterfaces } from 'node:os';
import { z } from 'zod';
import { DEFAULT_DATA_DIR } from '../../calibration/store.ts';
import { CLIENT_NAME_PATTERN, PairingError, PairingStore, ROLES } from '../security/pairing.ts';
import { checkedFlag, EXIT_USAGE, parseFlags, pathAsTyped, UsageError, type CliOutput } from './support.ts';
import { DEFAULT_PORT } from './start-args.ts';
import { pairingLink, qrCode } from './pairing-banner.ts';

export function pairUsage(): string {
  return [
    'Usage: npm run pair -- list | revoke NAME | new --role viewer|operator [--url URL]   [--data-dir DIR]',
    '',
    '  list            the paired devices: name, role, when paired, last seen',
    '  revoke NAME     unpair a device: its requests are refused, its live view is cut',
    '  new             a one-time pairing link (5 minutes) for the running server to accept',
    '  --role ROLE     viewer (live view, review) or operator (presets, labels, calibration, deletes)',
    `  --url URL       the server's address as the tablet reaches it (default http://THIS-MACHINE:${DEFAULT_PORT})`,
    '  --data-dir DIR  the server\'s --data-dir (default data/ in the project)',
  ].join('\n');
}

const flagSchemas = {
  role: z.enum(ROLES, { error: `--role needs one of ${ROLES.join(', ')}` }),
  url: z.url({ protocol: /^https?$/, error: '--url needs the server\'s address, e.g. http://192.168.1.20:8080' }).transform((text) => new URL(text).origin),
  dataDir: z.string().trim().min(1, '--data-dir needs a directory, e.g. data'),
  name: z.string().regex(CLIENT_NAME_PATTERN, 'revoke needs the NAME of a paired device, as npm run pair -- list shows it'),
};

function defaultOrigin(): string {
  const address = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []).find((entry) => entry.family === 'IPv4' && !entry.internal)?.address ?? '127.0.0.1';
  return `http://${address}:${DEFAULT_PORT}`;
}

/** Runs one `npm run pair` command; returns its exit code. */
export function runPair(argv: readonly string[], output: CliOutput): number {
  const { values, positionals } = parseFlags(argv, { role: { type: 'string' }, url: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, { allowPositionals: true });
  if (values.help === true) {
    output.stdout(`${pairUsage()}\n`);
    return 0;
  }
  const dataDir = values['data-dir'] === undefined ? DEFAULT_DATA_DIR : pathAsTyped(checkedFlag(flagSchemas.dataDir, values['data-dir'], '--data-dir'), 'pair');
  const store = new PairingStore(join(dataDir, 'pairing.json'));
  const [command, ...rest] = positionals;
  if (command === 'list' && rest.length === 0) {
    const clients = store.list();
    if (clients.length === 0) output.stdout(`No paired devices (${store.file ?? ''}).\n`);
    for (const client of clients) output.stdout(`${client.name}\t${client.role}\tpaired ${client.pairedAt}\tlast seen ${client.lastSeenAt ?? 'never'}\n`);
    return 0;
  }
  if (command === 'revoke' && rest.length === 1) {
    const name = checkedFlag(flagSchemas.name, rest[0], 'revoke');
    if (!store.revoke(name)) {
      output.stderr(`knotmeter pair: no paired device is named ${name} (npm run pair -- list shows them)\n`);
      return 1;
    }
    output.stdout(`Revoked ${name}: its requests are refused from now on.\n`);
    return 0;
  }
  if (command === 'new' && rest.length === 0) {
    if (values.role === undefined) throw new UsageError('new needs --role viewer or --role operator');
    const role = checkedFlag(flagSchemas.role, values.role, '--role');
    const origin = values.url === undefined ? defaultOrigin() : checkedFlag(flagSchemas.url, values.url, '--url');
    const { code } = store.newPendingCode(role);
    const link = pairingLink(origin, code);
    output.stdout(`Pairing link for ${role === 'operator' ? 'an operator' : 'a viewer'} (one device, 5 minutes; the server started with --data-dir ${dataDir} accepts it):\n  ${link}\n${qrCode(link)}\n`);
    return 0;
  }
  throw new UsageError(`expected list, revoke NAME or new --role ROLE (got ${positionals.join(' ') || 'nothing'})`);
}

function main(): void {
  const output: CliOutput = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };
  try {
    process.exitCode = runPair(process.argv.slice(2), output);
  } catch (error) {
    if (error instanceof UsageError || error instanceof PairingError) {
      output.stderr(`knotmeter pair: ${error.message}\n${error instanceof UsageError ? `${pairUsage()}\n` : ''}`);
      process.exitCode = error instanceof UsageError ? EXIT_USAGE : 1;
      return;
    }
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) main();
