import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkKeyPair, directoryCertificates, selfSignedCertificates } from './certs.js';
import { selfSignedCertificate, type KeyPair } from './x509.js';

const pair = (cn: string): KeyPair =>
  selfSignedCertificate({ commonName: cn, hosts: ['localhost'], notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });

describe('checkKeyPair', () => {
  const a = pair('a');
  const b = pair('b');
  test.each([
    { what: 'a matching pair', p: a, error: undefined },
    { what: 'a key of another certificate', p: { cert: a.cert, key: b.key }, error: 'd: tls.key is not the key of tls.crt' },
    { what: 'not a certificate', p: { cert: 'hello', key: a.key }, error: 'd/tls.crt: not a PEM certificate' },
    { what: 'not a key', p: { cert: a.cert, key: 'hello' }, error: 'd/tls.key: not a PEM private key' },
  ])('$what', ({ p, error }) => {
    if (error === undefined) expect(() => checkKeyPair(p, 'd')).not.toThrow();
    else expect(() => checkKeyPair(p, 'd')).toThrow(error);
  });
});

describe('directoryCertificates', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warmpool-certs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a missing file names the flag and the file', async () => {
    await expect(directoryCertificates(dir)).rejects.toThrow(`--metrics-cert-dir ${dir}: ENOENT`);
  });

  test('reports a changed pair once, and keeps serving the last good one', async () => {
    const first = pair('first');
    writeFileSync(join(dir, 'tls.crt'), first.cert);
    writeFileSync(join(dir, 'tls.key'), first.key);
    const errors: unknown[] = [];
    const source = await directoryCertificates(dir, { intervalMs: 20, onError: (e) => errors.push(e) });
    try {
      const changes: KeyPair[] = [];
      source.onChange((p) => changes.push(p));
      expect(source.current()).toEqual(first);
      writeFileSync(join(dir, 'tls.crt'), pair('other').cert); // the key no longer matches
      await new Promise((r) => setTimeout(r, 200));
      expect(source.current()).toEqual(first);
      expect(errors).toHaveLength(1); // once, not every poll
      const second = pair('second');
      writeFileSync(join(dir, 'tls.key'), second.key);
      writeFileSync(join(dir, 'tls.crt'), second.cert);
      await new Promise((r) => setTimeout(r, 200));
      expect(source.current()).toEqual(second);
      expect(changes).toEqual([second]);
    } finally {
      source.stop();
    }
  });
});

describe('selfSignedCertificates', () => {
  test('covers the loopback names and renews before expiry', async () => {
    const source = selfSignedCertificates({ validityMs: 300, hosts: ['op.ns.svc'] });
    try {
      const first = new X509Certificate(source.current().cert);
      expect(first.subjectAltName).toContain('DNS:localhost');
      expect(first.subjectAltName).toContain('DNS:op.ns.svc');
      expect(first.checkIP('127.0.0.1')).toBe('127.0.0.1');
      const renewed = await new Promise<KeyPair>((resolve) => source.onChange(resolve));
      expect(source.current()).toEqual(renewed);
      expect(new X509Certificate(renewed.cert).serialNumber).not.toBe(first.serialNumber);
    } finally {
      source.stop();
    }
  });
});
