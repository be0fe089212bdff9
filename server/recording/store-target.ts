/**
 * Where sessions are recorded: a SQLite file (`--db FILE`) or a PostgreSQL database
 * (`--store postgres://...`), told apart once, where the flags are read
 * (`server/cli/store-flags.ts`), so nothing downstream guesses from a string.
 *
 *   const target: StoreTarget = { kind: 'postgres', url: 'postgres://knotmeter@db.clinic.lan:5432/knotmeter' };
 *   describeStoreTarget(target);   // the file, or the URL without its password
 *
 * Pipeline position: command line -> **store target** -> recording (`recording.ts`), the stores.
 */
import { z } from 'zod';
import { describePostgresError, isPostgresUrl, openPostgresStore } from './postgres/postgres-store.ts';
import { withoutPassword } from '../security/url-password.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { SessionStore } from './store.ts';

export type StoreTarget = { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };

/** `--store`'s value: a PostgreSQL URL that names a database. */
export const storeUrlSchema = z
  .string()
  .trim()
  .refine((text) => isPostgresUrl(text) && URL.canParse(text) && new URL(text).pathname.length > 1, '--store needs a PostgreSQL URL naming a database, postgres://USER@HOST:PORT/DB (e.g. postgres://knotmeter@127.0.0.1:5432/knotmeter)');

/** `--db`'s value: a file name. */
export const dbFileSchema = z.string().trim().min(1, '--db needs a file name, e.g. data/knotmeter.db');

/** The target for messages and the dashboard: the file, or the URL without its password. */
export function describeStoreTarget(target: StoreTarget): string {
  return target.kind === 'sqlite' ? target.path : withoutPassword(target.url);
}

/**
 * The session store at `target`, for a command (`analyze`, `demo-history`): a SQLite file
 * is opened now (and throws now), a PostgreSQL database at the first call.
 */
export function openStoreAt(target: StoreTarget, options: { readonly readonly?: boolean } = {}): SessionStore {
  return target.kind === 'sqlite' ? openSqliteStore(target.path, options) : openPostgresStore(target.url, { ...options, poolSize: 1 });
}

/** Why the store at `target` could not be read or written, in words (PostgreSQL's errors say what to do). */
export function describeStoreTargetError(target: StoreTarget, error: unknown): string {
  if (target.kind === 'postgres') return describePostgresError(error);
  return error instanceof Error ? error.message : String(error);
}
