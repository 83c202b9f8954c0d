import { createHash } from "node:crypto";
import { isUuid } from "../common/refs";
import type { CaRepository } from "../repositories";
import type { CrlCache } from "./crl-cache";

/** DER of a published object, until when a cache may keep it, and its HTTP validators. */
export interface Published {
  der: Buffer;
  /** For CRLs, their nextUpdate; for certificates, their notAfter. */
  expires: Date;
  /**
   * A strong entity tag of exactly these bytes, quoted: a CRL's number (RFC 5280 5.2.3: one
   * per CRL a CA signs; numbers come from the database, so replicas never reuse one), a
   * certificate's SHA-256.
   */
  etag: string;
  /** For CRLs, their thisUpdate. */
  lastModified?: Date;
}

/**
 * What the publication endpoint (src/server/publication.ts) serves at the URLs certificates
 * carry (RFC 5280 4.2.1.13 CRL distribution points, 4.2.2.1 caIssuers). Relying parties fetch
 * CRLs often and without credentials: they get the CRL GetCertificateRevocationList returns,
 * from the cache both share (crl-cache.ts: signed once per cache period and after a
 * revocation, through this replica or another).
 */
export class CaPublisher {
  constructor(
    private readonly cas: Pick<CaRepository, "find">,
    private readonly crls: CrlCache,
  ) {}

  /** The CA's current CRL, DER; undefined when there is no such CA or it has no certificate. */
  async crl(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId)) return undefined;
    const crl = await this.crls.get(caId.toLowerCase());
    return (
      crl && {
        der: crl.der,
        expires: crl.nextUpdate,
        etag: `"crl-${crl.crlNumber}"`,
        lastModified: crl.thisUpdate,
      }
    );
  }

  /** The CA's certificate, DER; undefined when unknown or still pending its certificate. */
  async caCertificate(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId)) return undefined;
    const ca = await this.cas.find({ id: caId.toLowerCase() });
    if (!ca?.certificatePem || !ca.notAfter) return undefined;
    const der = pemToDer(ca.certificatePem);
    const etag = `"${createHash("sha256").update(der).digest("base64url")}"`;
    return { der, expires: ca.notAfter, etag };
  }
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
