import { databaseOutage } from "../../database-outage";
import { resolveRef } from "../common/refs";
import type { CaRepository } from "../repositories";
import { type CrlDeps, currentCrl, type SignedCrl } from "./crl";

/**
 * How often a cached CRL is compared with the CA's revocation count in the database: a
 * revocation through any replica reaches this one's CRL within this time.
 */
export const CRL_REVOCATION_CHECK_MS = 500;

/**
 * The DER bytes of the CRLs kept at once (least recently used first out; the newest is always
 * kept): a CRL of 10^5 entries is about 5 MB, one of a CA with nothing revoked a few hundred
 * bytes. A budget of bytes, not a count: with a count of 32 (until 2026-12-03), fetching the
 * CRLs of 33 CAs in turn (anyone may, on the publication port) signed one afresh on every
 * fetch, each reading every revoked row of its CA and taking a new cRLNumber.
 */
export const MAX_CACHED_CRL_BYTES = 64 * 1024 * 1024;

/** What the cache reads besides what signing a CRL needs. */
export type CrlCacheDeps = CrlDeps & {
  store: CrlDeps["store"] & { cas: Pick<CaRepository, "find" | "revocationCount"> };
};

interface Entry {
  crl: SignedCrl;
  signedAt: number;
  /** When the CA's revocation count was last compared with the database. */
  checkedAt: number;
}

/**
 * The CRLs of the CAs, shared by GetCertificateRevocationList and the publication endpoint
 * (issue 14): a CA's CRL is signed at most once per `cacheSeconds`, not once per call (signing
 * one of 10^5 entries reads them all), and again after a revocation: at once when it went
 * through this process (forget), and within CRL_REVOCATION_CHECK_MS when it went through
 * another replica (the CA's revocation count, bumped in the revoking transaction, is compared
 * with the one the cached CRL was signed at: one indexed read, at most twice a second per CA;
 * it works on the embedded database as on PostgreSQL). Each signing takes the CA's next
 * cRLNumber (RFC 5280 5.2.3), so callers within one period get the same CRL, byte for byte.
 *
 * Once its period is over, a CRL with nothing revoked since is still served while the next one
 * is signed, so only the first call after a revocation waits for a signing. Concurrent callers
 * of one CA share one signing; signings of different CAs run one after another, so at most one
 * CA's revoked rows are in memory at a time. The building itself yields to other calls while
 * it encodes (signer/crl.ts).
 */
export class CrlCache {
  private readonly entries = new Map<string, Entry>();
  /** The DER bytes of `entries` (MAX_CACHED_CRL_BYTES). */
  private bytes = 0;
  private readonly signing = new Map<string, Promise<SignedCrl | undefined>>();
  /** Bumped by forget: a signing that began before a revocation is not kept. */
  private readonly generations = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: CrlCacheDeps,
    readonly cacheSeconds: number,
  ) {}

  /** The CA's current CRL; undefined when no CA has this id or it has no certificate yet. */
  async get(caId: string): Promise<SignedCrl | undefined> {
    const hit = this.entries.get(caId);
    if (hit) {
      const state = await this.state(caId, hit);
      if (state !== "REVOKED") {
        // Most recently used last.
        this.entries.delete(caId);
        this.entries.set(caId, hit);
        // Past its period but nothing revoked since: still true and valid until nextUpdate,
        // so it is served while its successor is signed, off this call's path.
        if (state === "AGED") this.signingOf(caId).catch(() => undefined);
        return hit.crl;
      }
    }
    return this.signingOf(caId);
  }

  /** The signing of the CA's CRL in flight, or a new one queued behind the others. */
  private signingOf(caId: string): Promise<SignedCrl | undefined> {
    let pending = this.signing.get(caId);
    if (!pending) {
      const started = this.queue.then(() => this.sign(caId));
      pending = started.finally(() => {
        if (this.signing.get(caId) === pending) this.signing.delete(caId);
      });
      this.queue = pending.catch(() => undefined);
      this.signing.set(caId, pending);
    }
    return pending;
  }

  /** A revocation (through this process) makes the next call sign a fresh CRL. */
  forget(caId: string): void {
    const entry = this.entries.get(caId);
    if (entry) this.bytes -= entry.crl.der.length;
    this.entries.delete(caId);
    this.signing.delete(caId);
    this.generations.set(caId, (this.generations.get(caId) ?? 0) + 1);
  }

  /**
   * CURRENT: within the cache period, no revocation counted since it was signed (compared with
   * the database at most every CRL_REVOCATION_CHECK_MS). AGED: past the period (not with a
   * period of 0: then every call signs) with nothing revoked, and before its nextUpdate.
   * REVOKED: a revocation was counted since, or it is too old to serve. The final CRL of a CA
   * that has ended is CURRENT past its nextUpdate (it has no successor) until a revocation.
   *
   * The period is a duration, measured on the monotonic clock; nextUpdate is a time relying
   * parties compare with their wall clocks (RFC 5280 5.1.2.5), so it is compared with the wall
   * clock, within the period too: a wall clock stepped forward past it (NTP correcting a clock
   * that ran behind), or a period longer than CERTMINT_CRL_VALIDITY_SECONDS, served a CRL past
   * its nextUpdate, which relying parties refuse (OpenSSL: "CRL has expired").
   */
  private async state(id: string, hit: Entry): Promise<"CURRENT" | "AGED" | "REVOKED"> {
    // A CRL whose nextUpdate is its CA's notAfter, once that has passed: the CA has ended, and
    // this is its final CRL (crl.ts crlDates). Another one would carry the same dates and
    // entries under a new number, so it is served as it is, whatever the cache period, until a
    // revocation is counted (RFC 5280 5.1.2.5: no CA can promise a next CRL past its end).
    // Until stop 40 of 2026-12-05 the CA's expired key signed a fresh CRL every cache period,
    // dated after its certificate's end, which no relying party could validate.
    const ended = hit.crl.endsWithCa && hit.crl.nextUpdate <= this.deps.now();
    if (hit.crl.nextUpdate <= this.deps.now() && !ended) return "REVOKED";
    const now = performance.now();
    const aged = !ended && now - hit.signedAt >= this.cacheSeconds * 1000;
    if (aged && this.cacheSeconds === 0) return "REVOKED";
    if (!aged && now - hit.checkedAt < CRL_REVOCATION_CHECK_MS) return "CURRENT";
    let count: string | null;
    try {
      count = await this.deps.store.cas.revocationCount(id);
    } catch (err) {
      // The database cannot be reached: nothing can be revoked on it meanwhile, and this CRL is
      // signed and valid until its nextUpdate, so it is served (relying parties fetching CRLs
      // during an outage get one). Until 2026-12-05 the failed check failed the fetch (503)
      // half a second into any outage (an outside probe). Checked again on the next call.
      if (databaseOutage(err)) return "CURRENT";
      throw err;
    }
    if (count === null || count !== hit.crl.revocationCount) return "REVOKED";
    hit.checkedAt = performance.now();
    return aged ? "AGED" : "CURRENT";
  }

  private async sign(id: string): Promise<SignedCrl | undefined> {
    const generation = this.generations.get(id) ?? 0;
    const ca = await this.deps.store.cas.find({ id });
    if (!ca?.certificatePem) return undefined;
    const crl = await currentCrl(this.deps, id);
    if ((this.generations.get(id) ?? 0) === generation) {
      const now = performance.now();
      const replaced = this.entries.get(id);
      if (replaced) this.bytes -= replaced.crl.der.length;
      this.entries.delete(id);
      this.entries.set(id, { crl, signedAt: now, checkedAt: now });
      this.bytes += crl.der.length;
      while (this.bytes > MAX_CACHED_CRL_BYTES && this.entries.size > 1) {
        const [oldest, entry] = this.entries.entries().next().value as [string, Entry];
        this.entries.delete(oldest);
        this.bytes -= entry.crl.der.length;
      }
    }
    return crl;
  }
}

/**
 * GetCertificateRevocationList: the CA's (by id or slug) current CRL from the cache (the same
 * object for every call while it holds, so a caller may keep what it derives from it beside
 * it); signed on the spot when no cache is configured. NOT_FOUND for an unknown CA,
 * FAILED_PRECONDITION for one still waiting for its certificate.
 */
export async function revocationList(
  deps: CrlDeps & { crls?: CrlCache },
  ref: string,
): Promise<SignedCrl> {
  const ca = await resolveRef(ref, "certificate authority", "certificate_authority", (k) =>
    deps.store.cas.find(k),
  );
  // Without a certificate there is no cached CRL: currentCrl says why.
  return (await deps.crls?.get(ca.id)) ?? (await currentCrl(deps, ca.id));
}
