/**
 * Probe 52 (TRANSPORT): client certificates with any validity and chain shape, made with
 * node-forge (openssl's req/x509 cannot back-date a certificate or sign a loop): RSA-2048 keys
 * from node:crypto, one key reused where a chain only needs many certificates.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface Pem {
  certPem: string;
  keyPem: string;
}

interface Made extends Pem {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

export function rsaKeyPem(): string {
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;
}

/**
 * A certificate for `cn` with the public key of `keyPem`, signed by `issuer` (or itself), valid
 * `from` to `to`, a CA or a leaf (clientAuth unless `eku` says serverAuth).
 */
export function makeCert(o: {
  cn: string;
  keyPem: string;
  issuer?: { cn: string; key: forge.pki.rsa.PrivateKey };
  ca: boolean;
  from?: Date;
  to?: Date;
  padding?: number;
  /** A leaf's extended key usage: clientAuth unless told. */
  eku?: "clientAuth" | "serverAuth";
}): Made {
  const key = forge.pki.privateKeyFromPem(o.keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${randomBytes(15).toString("hex")}`;
  cert.validity.notBefore = o.from ?? new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = o.to ?? new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: "commonName", value: o.cn }]);
  cert.setIssuer([{ name: "commonName", value: o.issuer?.cn ?? o.cn }]);
  const extensions: object[] = o.ca
    ? [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      ]
    : [
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, critical: true },
        { name: "extKeyUsage", [o.eku ?? "clientAuth"]: true },
      ];
  // A large, non-critical extension of the certificate's own: a certificate of any size.
  if (o.padding) {
    const octets = forge.asn1.create(
      forge.asn1.Class.UNIVERSAL,
      forge.asn1.Type.OCTETSTRING,
      false,
      "x".repeat(o.padding),
    );
    extensions.push({ id: "1.3.6.1.4.1.55555.1", value: forge.asn1.toDer(octets).getBytes() });
  }
  cert.setExtensions(extensions);
  cert.sign(o.issuer?.key ?? key, forge.md.sha256.create());
  return { cert, key, certPem: forge.pki.certificateToPem(cert), keyPem: o.keyPem };
}

/** The issuer of certificates made by makeCert. */
export function issuerOf(m: Made, cn: string) {
  return { cn, key: m.key };
}
