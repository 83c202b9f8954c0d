/**
 * Which CAs issued a certificate, proved by signatures: the CA certificates on the paths from
 * a certificate up through a known set of CA certificates (RFC 5280 6.1: each link is an
 * issuer whose subject names the child's issuer and whose key verifies the child's signature).
 *
 * This is for client certificates the TLS handshake has already verified: grpc-js 1.14 hands
 * the server only the peer's leaf certificate (getAuthContext().sslPeerCertificate comes from
 * getPeerCertificate() without the chain), so the chain is rebuilt here from the CAs certmint
 * knows. A path that leaves the known set simply ends there.
 */
import { X509Certificate } from "node:crypto";

/** RFC 5280 imposes no limit; real hierarchies are 2-4 deep, and this bounds the work. */
const MAX_DEPTH = 8;

interface KnownCa {
  readonly certificate: X509Certificate;
  /** SHA-256 of the DER, lower-case hex. */
  readonly sha256: string;
}

const sha256Of = (certificate: X509Certificate): string =>
  certificate.fingerprint256.replace(/:/g, "").toLowerCase();

export class CaCertificateSet {
  private readonly cas: KnownCa[] = [];

  /** PEM or DER certificates; those that are not CA certificates (or do not parse) are ignored. */
  constructor(certificates: Iterable<string | Buffer>) {
    const seen = new Set<string>();
    for (const input of certificates) {
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(input);
      } catch {
        continue;
      }
      const sha256 = sha256Of(certificate);
      if (!certificate.ca || seen.has(sha256)) continue;
      seen.add(sha256);
      this.cas.push({ certificate, sha256 });
    }
  }

  /** SHA-256 (lower-case hex) of a PEM or DER certificate, as issuersOf names CAs. */
  static sha256Of(certificate: string | Buffer): string {
    return sha256Of(new X509Certificate(certificate));
  }

  get size(): number {
    return this.cas.length;
  }

  /**
   * SHA-256 (hex) of every known CA certificate on an issuing path of `der`: its issuers, their
   * issuers, and so on. Several certificates of one CA (a re-issued CA certificate with the same
   * key) are all included. A certificate that does not parse has no issuers.
   */
  issuersOf(der: Buffer): Set<string> {
    return new Set(this.issuingLinksOf(der).map((link) => link.issuerSha256));
  }

  /**
   * Every link on the issuing paths of `der`: a certificate (the leaf, then each CA certificate
   * found) with the known CA certificate that issued it. Revocation is checked per link: a
   * CRL names serials of one issuer (RFC 5280 5.1.2.3, 6.3.3).
   */
  issuingLinksOf(der: Buffer): IssuingLink[] {
    const links: IssuingLink[] = [];
    const found = new Set<string>();
    let frontier: KnownCa[];
    try {
      const leaf = new X509Certificate(der);
      frontier = [{ certificate: leaf, sha256: sha256Of(leaf) }];
    } catch {
      return links;
    }
    for (let depth = 0; depth < MAX_DEPTH && frontier.length > 0; depth++) {
      const next: KnownCa[] = [];
      for (const child of frontier) {
        for (const ca of this.cas) {
          if (ca.certificate === child.certificate) continue;
          if (
            child.certificate.checkIssued(ca.certificate) &&
            child.certificate.verify(ca.certificate.publicKey)
          ) {
            links.push({
              serialNumber: child.certificate.serialNumber,
              depth,
              subjectSha256: child.sha256,
              issuerSha256: ca.sha256,
            });
            if (found.has(ca.sha256)) continue;
            found.add(ca.sha256);
            next.push(ca);
          }
        }
      }
      frontier = next;
    }
    return links;
  }
}

/** A certificate on an issuing path and the CA certificate that issued it (issuingLinksOf). */
export interface IssuingLink {
  /** The issued certificate's serial, as Node's X509Certificate gives it (upper-case hex). */
  readonly serialNumber: string;
  /** 0: the certificate asked about; 1: a CA certificate that issued it; and so on. */
  readonly depth: number;
  /** SHA-256 (lower-case hex) of the issued certificate (at depth 0, the one asked about). */
  readonly subjectSha256: string;
  /** SHA-256 (lower-case hex) of the issuing CA certificate. */
  readonly issuerSha256: string;
}
