import { isCertmintError } from "../../errors";
import type { RevocationReason } from "../../model/pki";
import {
  buildOcspResponse,
  mayCertifyResponders,
  type OcspCertId,
  type OcspCertStatus,
  type OcspErrorStatus,
  ocspErrorResponse,
  ocspIssuerHashes,
  parseOcspRequest,
} from "../../signer";
import { earliestDate } from "../certificates/invalidity-date";
import type {
  CaRepository,
  CertificateAuthority,
  CertificateRepository,
  OcspResponderRepository,
} from "../repositories";
import type { CaKeyring } from "./keyring";
import { caIssuer, caPathEnd } from "./load";
import { DelegatedResponders } from "./ocsp-delegate";
import { revokedAbove } from "./revoke";

/** What the responder reads (and, with delegated responders, records). */
export interface OcspDeps {
  store: {
    cas: Pick<CaRepository, "find" | "revocationCount" | "withCertificates" | "childStatuses">;
    certificates: Pick<CertificateRepository, "statusesIssuedBy">;
    /** Written only with delegated responders (OcspSettings.delegated). */
    ocspResponders: Pick<OcspResponderRepository, "recordIntent" | "storeCertificate">;
  };
  keyring: Pick<CaKeyring, "signerFor">;
  now: () => Date;
}

/** What the HTTP layer sends back. */
export interface OcspAnswer {
  der: Buffer;
  /** good / revoked / unknown (of the first certificate asked about), or the error status. */
  status: OcspCertStatus["kind"] | OcspErrorStatus;
  /** Until when an HTTP cache may keep it (nextUpdate); absent: not cacheable (a nonce, an error). */
  cacheUntil?: Date;
  /**
   * Until when certmint itself serves it again (thisUpdate + CERTMINT_OCSP_CACHE_SECONDS), the
   * bound of an HTTP cache's max-age: a revocation replaces it here at once, and a cache in
   * front of the port keeps it no longer than this (as a CRL's max-age is bounded by
   * CERTMINT_CRL_CACHE_SECONDS). Until stop 49 a cache could serve `good` up to nextUpdate (an
   * hour by default) after a revocation (an outside probe).
   */
  reuseUntil?: Date;
  /** thisUpdate, for Last-Modified (RFC 5019 6.2). */
  thisUpdate?: Date;
}

export interface OcspSettings {
  /** A response without a nonce is reused this long (and dropped at a revocation). */
  cacheSeconds: number;
  /** nextUpdate - thisUpdate (RFC 6960 4.2.2.1). */
  validitySeconds: number;
  /** Sign with a delegated responder certificate per CA (ocsp-delegate.ts) instead of the CA key. */
  delegated?: boolean;
}

interface CachedResponse {
  answer: OcspAnswer;
  signedAt: number;
}

interface CaCache {
  /** The CA's revocation count its cached responses were signed at (as for CRLs). */
  revocationCount: string;
  checkedAt: number;
  /** By request key, in the order they were signed (an entry is re-inserted when re-signed). */
  responses: Map<string, CachedResponse>;
}

/**
 * Most responses cached in one process, over all CAs; past it the oldest signed is dropped
 * first (FIFO). Only good/revoked answers to requests without a nonce are cached, each a few KB
 * at most (8 CertIDs, serials of at most 20 octets, a delegated responder's certificate), so
 * this bounds the cache to roughly 16 MiB; more distinct requests than this within one
 * cacheSeconds are still answered, only signed again.
 */
export const OCSP_CACHE_MAX_ENTRIES = 4096;

/**
 * Responses worked out at once in one process: those not answered from the cache (a nonce, a
 * serial the CA never issued, a cache period over), each three database reads and a signature.
 * More wait their turn, in arrival order. Anyone may send OCSP requests, and each such one costs
 * a database connection for its reads: without this bound 16 connections of them from one
 * client (64 from four) held most of the pool (CERTMINT_DATABASE_POOL_SIZE, 10) and the event
 * loop, and IssueCertificate became ~10 times slower. Four at once answer hundreds a second;
 * cached answers never wait.
 */
export const OCSP_MAX_SIGNINGS_IN_FLIGHT = 4;

/**
 * How often a CA's cached responses are compared with its revocation count in the database
 * (as its published CRL is): a revocation through another replica replaces them within this.
 */
const REVOCATION_CHECK_MS = 500;

/** A CA's issuer lookup is reloaded at most this often when a request names an unknown issuer. */
const ISSUER_RELOAD_MS = 1000;

/**
 * The OCSP responder (RFC 6960) of every CA certmint holds a key for, served at /ocsp on the
 * publication server. A request names its issuer by the hashes of the CA's name and key
 * (4.1.1); the response is signed by that CA's own key (4.2.2.2: the CA that issued the
 * certificate), with its key hash as ResponderID, or by a delegated responder the CA
 * certified (ocsp-delegate.ts), whose certificate the response carries. A certificate the CA never issued is
 * `unknown`, a revoked one `revoked` with its time and reason; an issuer certmint does not
 * hold is `unauthorized` (RFC 5019 2.2.3), and so is one whose certificate has expired
 * (`ended`: its path ends, caPathEnd), a malformed request `malformedRequest`. No response's
 * nextUpdate is later than the end of the CA's path.
 *
 * Responses to requests without a nonce are signed at most once per `cacheSeconds` per set of
 * certificates; a revocation drops them at once in this process, and within
 * REVOCATION_CHECK_MS when it went through another replica (the CA's revocation count, as
 * the published CRL does). A request with a nonce (RFC 8954) gets a fresh signature with the
 * nonce echoed. Only good and revoked answers are cached (an `unknown` one is signed each
 * time), entries past `cacheSeconds` are dropped, and at most OCSP_CACHE_MAX_ENTRIES are kept
 * (oldest first out), so that requests for made-up serials cannot grow the process. At most
 * OCSP_MAX_SIGNINGS_IN_FLIGHT responses are worked out at once (the rest wait), and the caller
 * may refuse one (`admit`: a budget per client address, server/publication.ts), so that clients
 * asking for responses the cache cannot hold do not take the database and the event loop from
 * everyone else.
 */
export class OcspResponder {
  private readonly cas = new Map<string, CaCache>();
  private issuers = new Map<string, string>();
  /**
   * Each CA's notAfter, as sign() last read its row (a CA's certificate never changes): a CA
   * past its end is answered without reading or waiting for anything.
   */
  private readonly ends = new Map<string, Date | null>();
  private issuersLoadedAt = Number.NEGATIVE_INFINITY;
  private readonly hashesByCa = new Map<string, Map<string, string>>();
  private readonly delegates?: DelegatedResponders;
  /**
   * The cap on this responder's cached responses: OCSP_CACHE_MAX_ENTRIES, not configurable.
   * A test lowers it to reach it in a few requests instead of thousands of signatures.
   */
  maxCachedResponses = OCSP_CACHE_MAX_ENTRIES;
  /** Responses being worked out now (at most OCSP_MAX_SIGNINGS_IN_FLIGHT), and those waiting. */
  private signing = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly deps: OcspDeps,
    private readonly settings: OcspSettings,
  ) {
    if (settings.delegated) this.delegates = new DelegatedResponders(deps);
  }

  /**
   * A DER OCSPRequest in, a DER OCSPResponse out; never throws for a client's input. `admit`
   * is asked before a response is worked out rather than taken from the cache (the HTTP layer's
   * budget of signatures per client address): false answers tryLater (RFC 6960 4.2.1), unsigned.
   */
  async respond(requestDer: Buffer, admit?: () => boolean): Promise<OcspAnswer> {
    let request: ReturnType<typeof parseOcspRequest>;
    try {
      request = parseOcspRequest(requestDer);
    } catch (err) {
      if (!isCertmintError(err)) throw err;
      return failure("malformedRequest");
    }
    const caIds = new Set<string>();
    for (const certId of request.certIds) {
      const caId = await this.issuerOf(certId);
      if (!caId) return failure("unauthorized");
      caIds.add(caId);
    }
    // One response is signed by one CA: a request about certificates of several is refused.
    if (caIds.size !== 1) return failure("unauthorized");
    const [caId] = [...caIds] as [string];
    // A CA past its end (as a signing here found it): refused before the cache, the client's
    // signing budget or a place in line; the first request after the end finds it in sign().
    if (caEnded(this.ends.get(caId), this.deps.now())) return this.ended(caId);
    // The CertIDs as encoded: the answer echoes them (OcspCertId.encoded).
    const key = request.certIds.map((c) => c.encoded).join(",");
    if (!request.nonce) {
      const cache = await this.currentCache(caId);
      const hit = cache?.responses.get(key);
      if (hit) {
        if (this.fresh(hit)) return hit.answer;
        cache!.responses.delete(key);
      }
    }
    if (admit && !admit()) return failure("tryLater");
    const release = await this.place();
    try {
      // The same request may have been signed (and cached) while this one waited its turn.
      const signed = request.nonce ? undefined : this.cas.get(caId)?.responses.get(key);
      if (signed && this.fresh(signed)) return signed.answer;
      return await this.sign(caId, key, request);
    } finally {
      release();
    }
  }

  /** Reads the statuses and signs the response (and caches it, when it may be). */
  private async sign(
    caId: string,
    key: string,
    request: ReturnType<typeof parseOcspRequest>,
  ): Promise<OcspAnswer> {
    const ca = await this.deps.store.cas.find({ id: caId });
    if (!ca?.certificatePem) return failure("unauthorized");
    // The end of every path through the CA, an earlier end of a CA above it included.
    const end = caPathEnd(this.deps, ca).notAfter;
    this.ends.set(caId, end);
    const now = this.deps.now();
    if (caEnded(end, now)) return this.ended(caId);
    const revoked = await revokedAbove(this.deps.store.cas, ca);
    const statuses = underRevokedCa(await this.statuses(ca, request.certIds), revoked);
    // A revoked CA (or one below a revoked CA) certifies no new responder: the one it certified
    // before, while still in the first half of its life, or else the CA key signs (RFC 6960
    // 4.2.2.2), as without delegation.
    // A CA whose path limits extended key usages without id-kp-OCSPSigning (an outside CA's EKU,
    // signer/issuer.ts) may certify no responder: verifiers would refuse it, so the CA key signs.
    const mayDelegate = mayCertifyResponders(caIssuer(this.deps, ca));
    const delegate = !mayDelegate
      ? undefined
      : revoked
        ? this.delegates?.current(ca.id, now)
        : await this.delegates?.responderFor(ca, now);
    let nextUpdate = new Date(now.getTime() + this.settings.validitySeconds * 1000);
    // A response says nothing past its responder's certificate: the delegated one's, or the
    // CA's own (RFC 6960 4.2.2.1: nextUpdate is when newer information will be available; a
    // CA past its end has none to give, above). caEnded: the CA's end is after now.
    if (delegate && delegate.notAfter < nextUpdate) nextUpdate = delegate.notAfter;
    if (end && end < nextUpdate) nextUpdate = end;
    const der = await buildOcspResponse({
      signer: delegate?.signer ?? caIssuer(this.deps, ca).signer,
      signatureAlgorithm: delegate?.signatureAlgorithm ?? ca.signatureAlgorithm,
      responderCertificate: delegate?.certificatePem ?? ca.certificatePem,
      includeResponderCertificate: delegate !== undefined,
      responses: request.certIds.map((certId, i) => ({ certId, status: statuses[i]! })),
      producedAt: now,
      thisUpdate: now,
      nextUpdate,
      nonce: request.nonce,
    });
    const answer: OcspAnswer = {
      der,
      status: statuses[0]!.kind,
      thisUpdate: now,
      ...(request.nonce
        ? {}
        : {
            cacheUntil: nextUpdate,
            reuseUntil: new Date(now.getTime() + this.settings.cacheSeconds * 1000),
          }),
    };
    // An answer with an `unknown` certificate is not cached: its serial is whatever the client
    // made up (random ones would never be asked again, and each entry would stay until evicted),
    // and a certificate issued later must not be answered `unknown` from the cache. It is
    // signed for each request, as a request with a nonce is.
    const cacheable = statuses.every((s) => s.kind !== "unknown");
    if (!request.nonce && cacheable && this.settings.cacheSeconds > 0) {
      const entry = this.cas.get(caId) ?? {
        revocationCount: String(ca.revocationCount),
        checkedAt: performance.now(),
        responses: new Map(),
      };
      // Deleted first so that the map stays in signing order (expiry and FIFO eviction).
      entry.responses.delete(key);
      entry.responses.set(key, { answer, signedAt: performance.now() });
      this.cas.set(caId, entry);
      this.evict();
    }
    return answer;
  }

  /**
   * One of OCSP_MAX_SIGNINGS_IN_FLIGHT places, at once or after those waiting before; resolves
   * with what gives it back (to the next waiting, if any).
   */
  private async place(): Promise<() => void> {
    if (this.signing < OCSP_MAX_SIGNINGS_IN_FLIGHT) this.signing += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.signing -= 1;
    };
  }

  /** A revocation of something the CA issued: its cached responses are dropped. */
  forget(caId: string): void {
    this.cas.delete(caId);
  }

  /**
   * The answer about a CA whose certificate has expired: `unauthorized` (RFC 6960 2.3, RFC 5019
   * 2.2.3: the responder cannot answer authoritatively for this issuer), unsigned, not cached
   * (the same constant bytes each time) and not logged: it is an expected state, final for that
   * CA, and anyone may ask. A response signed by the expired CA key (or by a responder it
   * certified, whose certificate cannot outlive the CA) fails every relying party's check of
   * its signer; until stop 40 of 2026-12-05 the CA key signed good/revoked answers after its
   * end, and with CERTMINT_OCSP_RESPONDER=delegated each request tried to certify a responder
   * valid until the CA's past end: `internalError` and an error-level log line per request
   * (an outside probe). What was cached for the CA, and its delegated responder, are dropped.
   */
  private ended(caId: string): OcspAnswer {
    this.cas.delete(caId);
    this.delegates?.forget(caId);
    return failure("unauthorized");
  }

  /** Responses held in the cache now, over all CAs (at most maxCachedResponses). */
  cachedResponseCount(): number {
    let count = 0;
    for (const entry of this.cas.values()) count += entry.responses.size;
    return count;
  }

  /**
   * Whether a cached response is still within cacheSeconds of its signature (a duration: the
   * monotonic clock) and before its nextUpdate by the wall clock (a time relying parties
   * compare with theirs, RFC 6960 4.2.2.1): a wall clock stepped forward past it, or
   * CERTMINT_OCSP_CACHE_SECONDS longer than CERTMINT_OCSP_VALIDITY_SECONDS, served responses
   * past their nextUpdate, which clients refuse (OpenSSL: "status expired").
   */
  private fresh(cached: CachedResponse): boolean {
    const { cacheUntil } = cached.answer;
    return (
      performance.now() - cached.signedAt < this.settings.cacheSeconds * 1000 &&
      (cacheUntil === undefined || cacheUntil > this.deps.now())
    );
  }

  /**
   * Drops responses past cacheSeconds (each CA's map is in signing order: only its expired
   * head is visited), then the oldest signed over all CAs while more than maxCachedResponses
   * remain. Runs at each insert, so at most one is over the cap.
   */
  private evict(): void {
    let count = 0;
    for (const [caId, entry] of this.cas) {
      for (const [key, cached] of entry.responses) {
        if (this.fresh(cached)) break;
        entry.responses.delete(key);
      }
      if (entry.responses.size === 0) this.cas.delete(caId);
      else count += entry.responses.size;
    }
    while (count > this.maxCachedResponses) {
      let oldest: { entry: CaCache; key: string; signedAt: number } | undefined;
      for (const entry of this.cas.values()) {
        const first = entry.responses.entries().next();
        if (first.done) continue;
        const [key, cached] = first.value;
        if (!oldest || cached.signedAt < oldest.signedAt) {
          oldest = { entry, key, signedAt: cached.signedAt };
        }
      }
      if (!oldest) break;
      oldest.entry.responses.delete(oldest.key);
      count--;
    }
  }

  /** The CA's cache while no revocation was counted since it was filled; else none. */
  private async currentCache(caId: string): Promise<CaCache | undefined> {
    const entry = this.cas.get(caId);
    if (!entry) return undefined;
    if (performance.now() - entry.checkedAt < REVOCATION_CHECK_MS) return entry;
    const count = await this.deps.store.cas.revocationCount(caId);
    if (count === null || count !== entry.revocationCount) {
      this.cas.delete(caId);
      return undefined;
    }
    entry.checkedAt = performance.now();
    return entry;
  }

  /** Each certificate's status: leaves and intermediate CAs the CA signed, by serial. */
  private async statuses(
    ca: CertificateAuthority,
    certIds: OcspCertId[],
  ): Promise<OcspCertStatus[]> {
    const serials = certIds.map((c) => c.serialHex);
    const found = [
      ...(await this.deps.store.certificates.statusesIssuedBy(ca.id, serials)),
      ...(await this.deps.store.cas.childStatuses(ca.id, serials)),
    ];
    return certIds.map((certId) => {
      const row = found.find((r) => r.serialNumber === certId.serialHex);
      if (!row) return { kind: "unknown" };
      if (!row.revokedAt) return { kind: "good" };
      return {
        kind: "revoked",
        revokedAt: row.revokedAt,
        reason: row.revocationReason ?? "UNSPECIFIED",
        ...(row.invalidityDate ? { invalidityDate: row.invalidityDate } : {}),
      };
    });
  }

  /** The CA whose name and key hash to the CertID's, among the CAs with a certificate. */
  private async issuerOf(certId: OcspCertId): Promise<string | undefined> {
    const key = `${certId.hash}:${certId.issuerNameHash.toString("hex")}:${certId.issuerKeyHash.toString("hex")}`;
    let caId = this.issuers.get(key);
    if (caId) return caId;
    if (performance.now() - this.issuersLoadedAt < ISSUER_RELOAD_MS) return undefined;
    const startedAt = performance.now();
    // Marked loaded only once the read succeeded: a read that met a database outage throws
    // (tryLater, server/ocsp-http.ts) and the next request reads again, where marking it first
    // answered "unauthorized" for every CA until the reload interval had passed.
    const cas = await this.deps.store.cas.withCertificates();
    this.issuersLoadedAt = startedAt;
    const issuers = new Map<string, string>();
    for (const ca of cas) {
      for (const hash of ["sha1", "sha256", "sha384", "sha512"] as const) {
        issuers.set(this.hashKey(ca.id, ca.certificatePem!, hash), ca.id);
      }
    }
    this.issuers = issuers;
    caId = issuers.get(key);
    return caId;
  }

  /** `hash:nameHash:keyHash` of a CA certificate, computed once per CA and hash. */
  private hashKey(caId: string, pem: string, hash: OcspCertId["hash"]): string {
    let byHash = this.hashesByCa.get(caId);
    if (!byHash) {
      byHash = new Map();
      this.hashesByCa.set(caId, byHash);
    }
    let key = byHash.get(hash);
    if (!key) {
      const { nameHash, keyHash } = ocspIssuerHashes(pem, hash);
      key = `${hash}:${nameHash.toString("hex")}:${keyHash.toString("hex")}`;
      byHash.set(hash, key);
    }
    return key;
  }
}

/**
 * The statuses of what a CA signed, when that CA or one above it was revoked (`revoked`):
 * every certificate it knows is `revoked`, at the CA's revocation time, with reason
 * cACompromise when the CA was revoked for keyCompromise or cACompromise (RFC 5280 5.3.1: the
 * key of a CA that issued the certificate is compromised), else the CA's own reason, as EJBCA
 * answers for the certificates of a revoked CA (RFC 6960 2.2: "revoked" also when the
 * certificate's issuer is). A certificate's own revocation stands (ownRevocationStands):
 * keyCompromise at any time, any other final reason (not certificateHold) no later than the
 * CA's; a hold, or a weaker reason recorded after the CA's, is replaced by the CA's revocation
 * (a temporary status under a final one; a later, weaker fact). `unknown` stays unknown: a
 * serial the CA never signed. The CA's invalidity date, when its revocation gave one, goes
 * with its answer (RFC 5280 5.3.2: what its key signed is suspect from then). The CA's CRL
 * lists the same (crl.ts). Until stop 43 of
 * 2026-12-06 the leaves of a revoked CA were answered `good`, signed with that CA's (possibly
 * compromised) key, and a hold released under it too (an outside probe).
 */
export function underRevokedCa(
  statuses: OcspCertStatus[],
  revoked:
    | Pick<CertificateAuthority, "revokedAt" | "revocationReason" | "invalidityDate">
    | undefined,
): OcspCertStatus[] {
  if (!revoked?.revokedAt) return statuses;
  const caReason: RevocationReason =
    revoked.revocationReason === "KEY_COMPROMISE" || revoked.revocationReason === "CA_COMPROMISE"
      ? "CA_COMPROMISE"
      : (revoked.revocationReason ?? "UNSPECIFIED");
  const caRevokedAt = revoked.revokedAt;
  return statuses.map((s) => {
    if (s.kind === "unknown") return s;
    if (s.kind === "revoked" && ownRevocationStands(s, caRevokedAt)) {
      return noLaterThanCa(s, caRevokedAt, revoked.invalidityDate ?? undefined);
    }
    return {
      kind: "revoked",
      revokedAt: caRevokedAt,
      reason: caReason,
      ...(revoked.invalidityDate ? { invalidityDate: revoked.invalidityDate } : {}),
    };
  });
}

/**
 * A certificate's own revocation, where it stands under a revoked CA (ownRevocationStands), is
 * answered with its own reason but never dated later than the CA's answer for it would be: its
 * revocation time the earlier of its own and the CA's, its invalidity date the earliest of its
 * own and the CA's (RFC 5280 5.3.2), left out when after that time (it would add nothing).
 * A keyCompromise recorded after the CA's revocation had made the certificate's answer later
 * and dropped the CA's invalidity date: relying parties that had refused what its key signed
 * since the CA's date accepted it again until the later time (until stop 58 of 2026-12-07: an
 * outside probe). The same object when nothing changes.
 */
function noLaterThanCa(
  own: Extract<OcspCertStatus, { kind: "revoked" }>,
  caRevokedAt: Date,
  caInvalidityDate: Date | undefined,
): OcspCertStatus {
  const revokedAt = own.revokedAt <= caRevokedAt ? own.revokedAt : caRevokedAt;
  const earliest = earliestDate(own.invalidityDate, caInvalidityDate);
  const invalidityDate = earliest && earliest <= revokedAt ? earliest : undefined;
  if (revokedAt === own.revokedAt && invalidityDate === own.invalidityDate) return own;
  return {
    kind: "revoked",
    revokedAt,
    reason: own.reason,
    ...(invalidityDate ? { invalidityDate } : {}),
  };
}

/**
 * Whether a certificate's own revocation is what is answered for it under a CA revoked at
 * `caRevokedAt` (underRevokedCa; certificate-page.ts `ownStands` is the same rule in SQL):
 *
 * - keyCompromise, whatever its time relative to the CA's: it is a fact about the subscriber's
 *   key, not about the issuer, the more specific and more severe one (RFC 5280 5.3.1), which
 *   relying parties treat apart from every other reason (a key compromised is distrusted in
 *   any certificate that carries it, from its own time; RevokeCertificate still records it
 *   under a revoked CA for that reason). The CA's CRL has always listed it so (its own entry),
 *   and OCSP, GetCertificate, ListCertificates, WatchCertificates and the CLI now say the same.
 *   Until stop 47 of 2026-12-06 one recorded after the CA's revocation was answered with the
 *   CA's reason and time everywhere but on the CRL (an outside probe, S F3 of stop 47;
 *   test/certificates/stop47-own-key-compromise.test.ts);
 * - any other final reason no later than the CA's revocation: the first and more precise fact;
 * - not a hold (certificateHold is temporary, and can never be released under a revoked CA),
 *   nor a weaker reason after the CA's revocation (nothing a relying party acts on apart).
 */
export function ownRevocationStands(
  own: { revokedAt: Date; reason: RevocationReason },
  caRevokedAt: Date,
): boolean {
  if (own.reason === "KEY_COMPROMISE") return true;
  return own.reason !== "CERTIFICATE_HOLD" && own.revokedAt <= caRevokedAt;
}

/**
 * Whether a CA's certificate has expired at `now`: its notAfter (whole seconds, as its
 * certificate carries it) is not after now, so nothing it signs from now on can be checked
 * against it (RFC 5280 4.1.2.5).
 */
function caEnded(notAfter: Date | null | undefined, now: Date): boolean {
  return notAfter != null && notAfter <= now;
}

const failure = (status: OcspErrorStatus): OcspAnswer => ({
  der: ocspErrorResponse(status),
  status,
});
