import { CertificateAuthorityEntity } from "../../store/entities";
import { isUuid } from "../common/refs";
import { currentCrl } from "./crl";
import type { CaDeps } from "./types";

/** DER of a published object, and until when a cache may keep it. */
export interface Published {
  der: Buffer;
  /** For CRLs, their nextUpdate; for certificates, their notAfter. */
  expires: Date;
}

/**
 * What the publication endpoint (src/server/publication.ts) serves at the URLs certificates
 * carry (RFC 5280 4.2.1.13 CRL distribution points, 4.2.2.1 caIssuers). Relying parties fetch
 * CRLs often and without credentials, so a CA's CRL is signed at most once per `cacheSeconds`
 * (and again after a revocation through this process), not once per fetch; each signing takes
 * the next cRLNumber, as GetCertificateRevocationList does.
 */
export class CaPublisher {
  private readonly crls = new Map<string, { published: Published; signedAt: number }>();
  private readonly signing = new Map<string, Promise<Published | undefined>>();

  constructor(
    private readonly deps: CaDeps,
    private readonly cacheSeconds: number,
  ) {}

  /** The CA's current CRL, DER; undefined when there is no such CA or it has no certificate. */
  async crl(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId)) return undefined;
    const id = caId.toLowerCase();
    const hit = this.crls.get(id);
    if (hit && performance.now() - hit.signedAt < this.cacheSeconds * 1000) return hit.published;
    // Concurrent fetches of one CA share one signature.
    let pending = this.signing.get(id);
    if (!pending) {
      pending = this.sign(id).finally(() => this.signing.delete(id));
      this.signing.set(id, pending);
    }
    return pending;
  }

  /** A revocation makes the next fetch sign a fresh CRL. */
  forget(caId: string): void {
    this.crls.delete(caId);
  }

  /** The CA's certificate, DER; undefined when unknown or still pending its certificate. */
  async caCertificate(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId)) return undefined;
    const ca = await this.deps.orm.em
      .fork()
      .findOne(
        CertificateAuthorityEntity,
        { id: caId.toLowerCase() },
        { fields: ["certificatePem", "notAfter"] },
      );
    if (!ca?.certificatePem || !ca.notAfter) return undefined;
    return { der: pemToDer(ca.certificatePem), expires: ca.notAfter };
  }

  private async sign(id: string): Promise<Published | undefined> {
    const exists = await this.deps.orm.em
      .fork()
      .count(CertificateAuthorityEntity, { id, certificatePem: { $ne: null } });
    if (exists === 0) return undefined;
    const crl = await currentCrl(this.deps, id);
    const published = { der: crl.der, expires: crl.nextUpdate };
    this.crls.set(id, { published, signedAt: performance.now() });
    return published;
  }
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
