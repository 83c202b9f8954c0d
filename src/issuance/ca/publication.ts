import { isUuid } from "../common/refs";
import type { CaRepository } from "../repositories";
import { type CrlDeps, currentCrl } from "./crl";

/** DER of a published object, and until when a cache may keep it. */
export interface Published {
  der: Buffer;
  /** For CRLs, their nextUpdate; for certificates, their notAfter. */
  expires: Date;
}

/**
 * How often a cached CRL is compared with the CA's revocation count in the database: a
 * revocation through any replica reaches this one's published CRL within this time.
 */
export const CRL_REVOCATION_CHECK_MS = 500;

interface CachedCrl {
  published: Published;
  signedAt: number;
  /** The CA's revocation count the CRL includes (ca/crl.ts). */
  revocationCount: string;
  /** When the count was last compared with the database. */
  checkedAt: number;
}

export type PublisherDeps = CrlDeps & {
  store: CrlDeps["store"] & { cas: Pick<CaRepository, "revocationCount"> };
};

/**
 * What the publication endpoint (src/server/publication.ts) serves at the URLs certificates
 * carry (RFC 5280 4.2.1.13 CRL distribution points, 4.2.2.1 caIssuers). Relying parties fetch
 * CRLs often and without credentials, so a CA's CRL is signed at most once per `cacheSeconds`,
 * not once per fetch; each signing takes the next cRLNumber, as GetCertificateRevocationList
 * does. A revocation makes the next fetch sign a fresh CRL: at once when it went through this
 * process, and within CRL_REVOCATION_CHECK_MS when it went through another replica (the CA's
 * revocation count, bumped in the revoking transaction, is compared with the one the cached
 * CRL was signed at: one indexed read, at most twice a second per CA, and it works on the
 * embedded database as on PostgreSQL).
 */
export class CaPublisher {
  private readonly crls = new Map<string, CachedCrl>();
  private readonly signing = new Map<string, Promise<Published | undefined>>();

  constructor(
    private readonly deps: PublisherDeps,
    private readonly cacheSeconds: number,
  ) {}

  /** The CA's current CRL, DER; undefined when there is no such CA or it has no certificate. */
  async crl(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId)) return undefined;
    const id = caId.toLowerCase();
    const hit = this.crls.get(id);
    if (hit && (await this.stillCurrent(id, hit))) return hit.published;
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

  /** Within the cache period, and no revocation counted since it was signed (checked at most every CRL_REVOCATION_CHECK_MS). */
  private async stillCurrent(id: string, hit: CachedCrl): Promise<boolean> {
    const now = performance.now();
    if (now - hit.signedAt >= this.cacheSeconds * 1000) return false;
    if (now - hit.checkedAt < CRL_REVOCATION_CHECK_MS) return true;
    const count = await this.deps.store.cas.revocationCount(id);
    if (count === null || count !== hit.revocationCount) return false;
    hit.checkedAt = performance.now();
    return true;
  }

  /** The CA's certificate, DER; undefined when unknown or still pending its certificate. */
  async caCertificate(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId)) return undefined;
    const ca = await this.deps.store.cas.find({ id: caId.toLowerCase() });
    if (!ca?.certificatePem || !ca.notAfter) return undefined;
    return { der: pemToDer(ca.certificatePem), expires: ca.notAfter };
  }

  private async sign(id: string): Promise<Published | undefined> {
    const ca = await this.deps.store.cas.find({ id });
    if (!ca?.certificatePem) return undefined;
    const crl = await currentCrl(this.deps, id);
    const published = { der: crl.der, expires: crl.nextUpdate };
    const now = performance.now();
    this.crls.set(id, {
      published,
      signedAt: now,
      revocationCount: crl.revocationCount,
      checkedAt: now,
    });
    return published;
  }
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
