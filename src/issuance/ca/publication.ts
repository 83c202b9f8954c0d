import { isUuid } from "../common/refs";
import type { CaRepository } from "../repositories";
import type { CrlCache } from "./crl-cache";

/** DER of a published object, and until when a cache may keep it. */
export interface Published {
  der: Buffer;
  /** For CRLs, their nextUpdate; for certificates, their notAfter. */
  expires: Date;
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
    return crl && { der: crl.der, expires: crl.nextUpdate };
  }

  /** The CA's certificate, DER; undefined when unknown or still pending its certificate. */
  async caCertificate(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId)) return undefined;
    const ca = await this.cas.find({ id: caId.toLowerCase() });
    if (!ca?.certificatePem || !ca.notAfter) return undefined;
    return { der: pemToDer(ca.certificatePem), expires: ca.notAfter };
  }
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
