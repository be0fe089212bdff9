/**
 * `--tls-cert FILE --tls-key FILE`: the certificate and key for serving HTTPS, read and
 * checked at start so a mistake is named before anything listens (a missing or unreadable
 * file, a file that is not PEM, a key that is not the certificate's). HTTPS gives a tablet
 * a secure context: the screen wake lock, an installable app, Secure cookies.
 *
 *   const tls = readTlsFiles('certs/knot.pem', 'certs/knot-key.pem'); // { cert, key }
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';

export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : error instanceof Error ? error.message : String(error);
    throw new UsageError(`${flag} ${path}: cannot read it (${reason}): pass the PEM file's path`);
  }
}

/** Reads and checks both files. @throws UsageError naming the flag and what is wrong. */
export function readTlsFiles(certPath: string, keyPath: string): TlsFiles {
  const cert = readFlagFile('--tls-cert', certPath);
  const key = readFlagFile('--tls-key', keyPath);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new UsageError(`--tls-cert ${certPath} is not a PEM certificate (-----BEGIN CERTIFICATE-----): pass the certificate, e.g. made by openssl req -x509`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new UsageError(`--tls-key ${keyPath} is not a PEM private key without a passphrase (-----BEGIN PRIVATE KEY-----): pass the certificate's key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new UsageError(`--tls-key ${keyPath} is not the key of --tls-cert ${certPath}: pass the key the certificate was made with`);
  return { cert, key };
}
