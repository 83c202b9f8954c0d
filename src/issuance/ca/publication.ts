import { createHash } from "node:crypto";
import { databaseOutage } from "../../database-outage";
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
  /**
   * How long an HTTP cache may keep it without asking again (Cache-Control max-age), when not
   * until `expires`: a CRL at most one CRL cache period (CERTMINT_CRL_CACHE_SECONDS), since a
   * revocation is published at once (crl-cache.ts). Until stop 41 of 2026-12-06 a CRL's
   * max-age ran to its nextUpdate, a day by default, so a cache in front of the publication
   * port could serve a CRL without a revocation for a day after it (an outside probe).
   */
  maxAgeSeconds?: number;
  /** For CRLs, their thisUpdate. */
  lastModified?: Date;
  /** lastModified also dates another CRL of the CA (SignedCrl.sharesThisUpdate). */
  lastModifiedShared?: boolean;
}

/**
 * How often the ids of the CAs that have a certificate are read again, at most (one query for
 * all of them): an id not among them waits for the next reading, shared by every such request
 * at the time, then answers 404. A made-up id (anyone may ask for /crl/<any uuid>.crl) so
 * costs no query of its own and never reaches the CRL signing queue; a CA created a moment ago
 * is found within about this time.
 */
export const KNOWN_CA_REFRESH_MS = 1_000;

/**
 * What the publication endpoint (src/server/publication.ts) serves at the URLs certificates
 * carry (RFC 5280 4.2.1.13 CRL distribution points, 4.2.2.1 caIssuers). Relying parties fetch
 * CRLs often and without credentials: they get the CRL GetCertificateRevocationList returns,
 * from the cache both share (crl-cache.ts: signed once per cache period and after a
 * revocation, through this replica or another).
 */
export class CaPublisher {
  private readonly known: KnownCaIds;
  /**
   * Each CA's certificate as published, read at most once per `refreshMs` (concurrent requests
   * share the reading): a CA's certificate is set once, when it becomes ACTIVE, and never
   * changes. Until 2026-12-03 (fifth stop) every GET /ca/<id>.crt read the CA's row: 16
   * keep-alive connections asking for one certificate made IssueCertificate ~9 times slower.
   * One entry per CA that has a certificate (known ids only); expired entries are dropped as
   * new ones are read.
   */
  private readonly certificates = new Map<
    string,
    { readAt: number; published: Promise<Published | undefined> }
  >();

  /** Each CA certificate last read, served while the database cannot be reached. */
  private readonly lastRead = new Map<string, Published>();

  constructor(
    private readonly cas: Pick<CaRepository, "find" | "withCertificates">,
    private readonly crls: CrlCache,
    private readonly refreshMs = KNOWN_CA_REFRESH_MS,
  ) {
    this.known = new KnownCaIds(cas, refreshMs);
  }

  /** The CA's current CRL, DER; undefined when there is no such CA or it has no certificate. */
  async crl(caId: string): Promise<Published | undefined> {
    if (!isUuid(caId) || !(await this.known.has(caId.toLowerCase()))) return undefined;
    const crl = await this.crls.get(caId.toLowerCase());
    return (
      crl && {
        der: crl.der,
        expires: crl.nextUpdate,
        maxAgeSeconds: Math.max(
          0,
          Math.min(
            this.crls.cacheSeconds,
            Math.floor((crl.nextUpdate.getTime() - Date.now()) / 1000),
          ),
        ),
        etag: `"crl-${crl.crlNumber}"`,
        lastModified: crl.thisUpdate,
        lastModifiedShared: crl.sharesThisUpdate,
      }
    );
  }

  /** The CA's certificate, DER; undefined when unknown or still pending its certificate. */
  async caCertificate(caId: string): Promise<Published | undefined> {
    const id = caId.toLowerCase();
    if (!isUuid(caId) || !(await this.known.has(id))) return undefined;
    const now = performance.now();
    const cached = this.certificates.get(id);
    if (cached && now - cached.readAt < this.refreshMs) return cached.published;
    for (const [key, entry] of this.certificates) {
      if (now - entry.readAt >= this.refreshMs) this.certificates.delete(key);
    }
    const entry = {
      readAt: now,
      // A CA certificate never changes: during a database outage the last one read is served.
      published: this.readCertificate(id).catch((err: unknown) => {
        const last = this.lastRead.get(id);
        if (last && databaseOutage(err)) return last;
        throw err;
      }),
    };
    this.certificates.set(id, entry);
    // A failed reading (a database outage) is not kept: the next request reads again.
    entry.published.catch(() => {
      if (this.certificates.get(id) === entry) this.certificates.delete(id);
    });
    return entry.published;
  }

  private async readCertificate(id: string): Promise<Published | undefined> {
    const ca = await this.cas.find({ id });
    if (!ca?.certificatePem || !ca.notAfter) {
      this.lastRead.delete(id);
      return undefined;
    }
    const der = pemToDer(ca.certificatePem);
    const etag = `"${createHash("sha256").update(der).digest("base64url")}"`;
    const published = { der, expires: ca.notAfter, etag };
    this.lastRead.set(id, published);
    return published;
  }
}

/**
 * The ids of the CAs that have a certificate, read with one query at most every `refreshMs`
 * (KNOWN_CA_REFRESH_MS). An id in the set goes on to the real lookup (which still answers
 * undefined for a CA deleted since); one not in it waits for a reading that began after it was
 * asked for, so a CA created just before is found, and concurrent misses share that reading.
 */
class KnownCaIds {
  private ids = new Set<string>();
  /** When the last reading began (performance.now()), whether or not it succeeded. */
  private lastStart = Number.NEGATIVE_INFINITY;
  private loading?: Promise<void>;

  constructor(
    private readonly cas: Pick<CaRepository, "withCertificates">,
    private readonly refreshMs: number,
  ) {}

  async has(id: string): Promise<boolean> {
    const asked = performance.now();
    for (;;) {
      if (this.ids.has(id)) return true;
      // A reading that began after the question answers it.
      if (this.lastStart >= asked) return false;
      await this.refresh();
    }
  }

  /** The reading in flight, or the next one, no sooner than refreshMs after the last began. */
  private refresh(): Promise<void> {
    if (!this.loading) {
      const wait = this.lastStart + this.refreshMs - performance.now();
      const loading = (wait > 0 ? delay(wait) : Promise.resolve())
        .then(() => this.load())
        .finally(() => {
          if (this.loading === loading) this.loading = undefined;
        });
      this.loading = loading;
    }
    return this.loading;
  }

  private async load(): Promise<void> {
    this.lastStart = performance.now();
    const rows = await this.cas.withCertificates();
    this.ids = new Set(rows.map((r) => r.id.toLowerCase()));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}
