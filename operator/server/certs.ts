// Where the metrics server's certificate comes from: tls.crt and tls.key in a directory (--metrics-cert-dir, e.g. a
// cert-manager Secret mounted as a volume), re-read when they change; or a self-signed one made in memory at start
// and renewed before it expires. Either way the server asks current() and is told onChange.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { clampDelayMs } from '../kube/timers.js';
import { selfSignedCertificate, type KeyPair } from './x509.js';

// Not `instanceof Error`: errors from node:fs may come from another realm (jest's VM modules).
function messageOf(err: unknown): string {
  const m = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : String(err);
}

export interface CertificateSource {
  current(): KeyPair;
  /** Called with the new pair after each change. */
  onChange(listener: (pair: KeyPair) => void): void;
  stop(): void;
}

/** Throws, naming the file, unless cert and key are PEM, parse, and belong together. */
export function checkKeyPair(pair: KeyPair, where: string): void {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch (err) {
    throw new Error(`${where}/tls.crt: not a PEM certificate (${messageOf(err)})`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(pair.key));
  } catch (err) {
    throw new Error(`${where}/tls.key: not a PEM private key (${messageOf(err)})`);
  }
  if (!matches) throw new Error(`${where}: tls.key is not the key of tls.crt`);
  createSecureContext(pair); // what the server will do with it; throws on anything OpenSSL refuses
}

export interface DirectoryOptions {
  /** How often the files are compared with what is served. Default 10 s (kubelet refreshes Secret volumes in ~1 min). */
  intervalMs?: number;
  /** A file pair that changed but cannot be served: the old one stays. */
  onError?: (err: unknown) => void;
}

async function readPair(dir: string): Promise<KeyPair> {
  const [cert, key] = await Promise.all([readFile(join(dir, 'tls.crt'), 'utf8'), readFile(join(dir, 'tls.key'), 'utf8')]);
  return { cert, key };
}

/**
 * tls.crt and tls.key from `dir`, polled: a Secret volume swaps its files through a symlink (..data), which file
 * watches miss on some platforms, and a poll of two small files costs nothing. A pair that changed is served only
 * once both files agree, so a renewal caught between its two writes waits for the next poll.
 */
export async function directoryCertificates(dir: string, opts: DirectoryOptions = {}): Promise<CertificateSource> {
  let pair: KeyPair;
  try {
    pair = await readPair(dir);
  } catch (err) {
    throw new Error(`--metrics-cert-dir ${dir}: ${messageOf(err)}`);
  }
  checkKeyPair(pair, dir);
  const listeners: ((p: KeyPair) => void)[] = [];
  let lastError = '';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const poll = async (): Promise<void> => {
    try {
      const next = await readPair(dir);
      if (next.cert !== pair.cert || next.key !== pair.key) {
        checkKeyPair(next, dir);
        pair = next;
        lastError = '';
        for (const l of listeners) l(pair);
      }
    } catch (err) {
      // Once per distinct error: a bad pair left in place would otherwise log every poll.
      const text = String(err);
      if (text !== lastError) opts.onError?.(err);
      lastError = text;
    }
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void poll().finally(schedule), clampDelayMs(opts.intervalMs ?? 10_000));
    timer.unref();
  };
  schedule();
  return {
    current: () => pair,
    onChange: (l) => void listeners.push(l),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

export interface SelfSignedSourceOptions {
  /** Extra names for subjectAltName; localhost, the host name, 127.0.0.1 and ::1 are always in. */
  hosts?: readonly string[];
  /** Validity of each certificate. Default one year. */
  validityMs?: number;
  now?: () => Date;
}

const HOUR = 3_600_000;

/** A self-signed certificate made now and renewed in memory once two thirds of its validity have passed. */
export function selfSignedCertificates(opts: SelfSignedSourceOptions = {}): CertificateSource {
  const validityMs = opts.validityMs ?? 365 * 24 * HOUR;
  const now = opts.now ?? (() => new Date());
  const hosts = [...new Set(['localhost', hostname(), '127.0.0.1', '::1', ...(opts.hosts ?? [])])];
  const make = (): { pair: KeyPair; renewAt: number } => {
    const start = now().getTime();
    const pair = selfSignedCertificate({
      commonName: 'warmpool-metrics',
      hosts,
      notBefore: new Date(start - HOUR), // clock skew between us and the scraper
      notAfter: new Date(start + validityMs),
    });
    return { pair, renewAt: start + (validityMs * 2) / 3 };
  };
  let made = make();
  const listeners: ((p: KeyPair) => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // clampDelayMs: a year does not fit setTimeout; the timer wakes hourly and checks.
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      if (now().getTime() >= made.renewAt) {
        made = make();
        for (const l of listeners) l(made.pair);
      }
      schedule();
    }, clampDelayMs(made.renewAt - now().getTime()));
    timer.unref();
  };
  schedule();
  return {
    current: () => made.pair,
    onChange: (l) => void listeners.push(l),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
