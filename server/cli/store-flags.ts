/**
 * `--db FILE | --store URL`, read the same way by every command that opens the session
 * store (`npm start`, `npm run analyze -- --session`, `npm run demo-history`): one or the
 * other, checked, as a `StoreTarget`.
 *
 *   const target = storeTargetOfFlags(values, DEFAULT_DB_PATH, 'analyze');
 */
import { dbFileSchema, storeUrlSchema, type StoreTarget } from '../recording/store-target.ts';
import { withoutPassword } from '../security/url-password.ts';
import { checkedFlag, pathAsTyped, UsageError } from './support.ts';

/**
 * The store `--db` or `--store` names; neither: the SQLite file `defaultPath`. A typed
 * path is from where the command was typed (`pathAsTyped`, for `command`).
 * @throws UsageError when both are given or one is malformed (a password is not echoed).
 */
export function storeTargetOfFlags(values: { readonly db?: string | undefined; readonly store?: string | undefined }, defaultPath: string, command: string): StoreTarget {
  if (values.db !== undefined && values.store !== undefined) {
    throw new UsageError('--db and --store cannot be used together: sessions are recorded in one store (a SQLite file or a PostgreSQL database)');
  }
  if (values.store !== undefined) return { kind: 'postgres', url: checkedFlag(storeUrlSchema, values.store, '--store', withoutPassword(values.store)) };
  return { kind: 'sqlite', path: values.db === undefined ? defaultPath : pathAsTyped(checkedFlag(dbFileSchema, values.db, '--db'), command) };
}
