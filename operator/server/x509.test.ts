import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { oid, selfSignedCertificate, time, tlv, unsignedInteger } from './x509.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('DER', () => {
  test.each([
    { what: 'short length', len: 3, prefix: '0403' },
    { what: 'long length, one byte', len: 200, prefix: '0481c8' },
    { what: 'long length, two bytes', len: 300, prefix: '0482012c' },
  ])('$what', ({ len, prefix }) => {
    expect(hex(tlv(0x04, Buffer.alloc(len))).startsWith(prefix)).toBe(true);
    expect(tlv(0x04, Buffer.alloc(len)).length).toBe(prefix.length / 2 + len);
  });

  test.each([
    { bytes: [0x00, 0x00, 0x05], der: '020105' },
    { bytes: [0x80], der: '02020080' },
    { bytes: [0x00], der: '020100' },
    { bytes: [0x7f, 0xff], der: '02027fff' },
  ])('INTEGER $bytes', ({ bytes, der }) => {
    expect(hex(unsignedInteger(Buffer.from(bytes)))).toBe(der);
  });

  test.each([
    { dotted: '2.5.4.3', der: '0603550403' },
    { dotted: '1.2.840.10045.4.3.2', der: '06082a8648ce3d040302' },
    { dotted: '1.3.6.1.5.5.7.3.1', der: '06082b06010505070301' },
  ])('OID $dotted', ({ dotted, der }) => {
    expect(hex(oid(dotted))).toBe(der);
  });

  test.each([
    { date: '2026-12-06T00:46:32.999Z', tag: 0x17, text: '261206004632Z' },
    { date: '2049-12-31T23:59:59Z', tag: 0x17, text: '491231235959Z' },
    { date: '2050-01-01T00:00:00Z', tag: 0x18, text: '20500101000000Z' },
  ])('time $date', ({ date, tag, text }) => {
    const der = time(new Date(date));
    expect(der[0]).toBe(tag);
    expect(der.subarray(2).toString('ascii')).toBe(text);
  });
});

describe('selfSignedCertificate', () => {
  const notBefore = new Date('2026-12-06T00:00:00Z');
  const notAfter = new Date('2027-12-06T00:00:00Z');
  const pair = selfSignedCertificate({ commonName: 'warmpool-metrics', hosts: ['localhost', 'op.example', '127.0.0.1', '::1', 'fe80::1:2'], notBefore, notAfter });
  const x509 = new X509Certificate(pair.cert);

  test('parses, verifies with its own key and matches the private key', () => {
    expect(x509.verify(createPublicKey(pair.cert))).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(pair.key))).toBe(true);
    expect(x509.publicKey.asymmetricKeyType).toBe('ec');
  });

  test('names, validity, not a CA, serverAuth', () => {
    expect(x509.subject).toBe('CN=warmpool-metrics');
    expect(x509.issuer).toBe('CN=warmpool-metrics');
    expect(new Date(x509.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(x509.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(x509.subjectAltName).toBe('DNS:localhost, DNS:op.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FE80:0:0:0:0:0:1:2');
    expect(x509.checkHost('op.example')).toBe('op.example');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkHost('other.example')).toBeUndefined();
  });

  test('a fresh key and serial each time; positive serial', () => {
    const again = new X509Certificate(selfSignedCertificate({ commonName: 'x', hosts: [], notBefore, notAfter }).cert);
    expect(again.serialNumber).not.toBe(x509.serialNumber);
    expect(parseInt(x509.serialNumber.slice(0, 1), 16)).toBeLessThan(8);
  });

  test('after 2049 the validity is a GeneralizedTime that parses', () => {
    const late = new X509Certificate(selfSignedCertificate({ commonName: 'x', hosts: [], notBefore, notAfter: new Date('2060-01-01T00:00:00Z') }).cert);
    expect(new Date(late.validTo).toISOString()).toBe('2060-01-01T00:00:00.000Z');
  });

  test('refuses an empty validity', () => {
    expect(() => selfSignedCertificate({ commonName: 'x', hosts: [], notBefore, notAfter: notBefore })).toThrow('notAfter');
  });
});
