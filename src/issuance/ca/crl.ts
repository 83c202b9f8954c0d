import { failedPrecondition } from "../../errors";
import {
  buildCrl,
  type RevokedEntry as CrlRevokedEntry,
  type EncodedRevokedEntries,
  type OcspCertStatus,
  wholeSeconds,
} from "../../signer";
import { resolveRef } from "../common/refs";
import type { IssuanceObserver } from "../observer";
import type {
  CaRepository,
  CertificateRepository,
  RevokedEntry,
  SerialStatus,
  StoreWith,
} from "../repositories";
import type { CaKeyring } from "./keyring";
import { caIssuer, caPathEnd } from "./load";
import { underRevokedCa } from "./ocsp";
import { revokedAbove } from "./revoke";

export interface SignedCrl {
  der: Buffer;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The CA's revocation count read before the revoked serials: every one it counts is listed. */
  revocationCount: string;
  /**
   * The CA's CRL numbered before this one has the same thisUpdate (two signed within one
   * second, or the clock still behind a thisUpdate it stepped back from): the HTTP date of
   * this CRL (Last-Modified) names that one too, so it is no validator (conditional-get.ts).
   */
  sharesThisUpdate: boolean;
  /**
   * nextUpdate is the CA's own notAfter (crlDates): no CRL of this CA can be valid past it, so
   * once that time has passed this is the CA's final CRL, served as it is (crl-cache.ts) until
   * a revocation is counted, not signed again every cache period.
   */
  endsWithCa?: boolean;
}

/** What a CRL is read from: its number and dates, then its entries (in one transaction). */
export interface CrlStore {
  cas: Pick<CaRepository, "find" | "nextCrl" | "revokedChildren" | "childrenListed">;
  certificates: Pick<
    CertificateRepository,
    "revokedIssuedBy" | "issuedByRevokedCa" | "revokedEntriesDer" | "statusesIssuedBy"
  >;
}

export interface CrlDeps {
  store: StoreWith<CrlStore>;
  keyring: Pick<CaKeyring, "signerFor">;
  now: () => Date;
  /** nextUpdate - thisUpdate of CRLs. */
  crlValiditySeconds: number;
  /** Told of each CRL signed (metrics), when given. */
  observer?: Pick<IssuanceObserver, "crlSigned">;
}

/**
 * The CA's revoked leaves as CRL entries kept by the store, when it has them (issue 14: a long
 * CRL's rows never become objects in the server); undefined when it cannot, or when a revoked
 * subordinate CA shares a serial with a revoked leaf: the entries then go through buildCrl,
 * which checks every one and refuses a serial listed twice.
 */
async function encodedLeaves(
  store: CrlStore,
  caId: string,
  listedAfter: Date,
  subordinates: readonly RevokedEntry[],
): Promise<EncodedRevokedEntries | undefined> {
  const certificates = store.certificates;
  if (!certificates.revokedEntriesDer) return undefined;
  const encoded = await certificates.revokedEntriesDer(caId, listedAfter);
  if (!encoded) return undefined;
  if (subordinates.length > 0) {
    const shared = await certificates.statusesIssuedBy(
      caId,
      subordinates.map((s) => s.serialNumber),
    );
    if (shared.some((s) => s.revokedAt !== null)) return undefined;
  }
  return encoded;
}

/**
 * The notAfter a revoked certificate must be past for its entry to stay on a CRL signed at
 * `thisUpdate`: one CRL validity period before it. RFC 5280 5.1.2.6 (and 3.3): an entry "MUST NOT
 * be removed from the CRL until it appears on one regularly scheduled CRL issued beyond the
 * revoked certificate's validity period". Until 2026-12-04 an entry was dropped from the first CRL
 * signed after its notAfter by this server's clock, so a relying party whose clock ran behind
 * the server's (or a server clock stepped forward, as NTP does) found a certificate that was
 * still valid by its clock and revoked, but on no CRL: accepted. Kept for one validity period,
 * the entry is on every CRL signed until a relying party holding a CRL from before the
 * notAfter must have fetched a newer one, and a relying party up to that far behind still sees it.
 */
export function expiredEntriesKeptFrom(thisUpdate: Date, crlValiditySeconds: number): Date {
  return new Date(thisUpdate.getTime() - crlValiditySeconds * 1000);
}

/**
 * thisUpdate and nextUpdate of a CRL of a CA that ends at `caNotAfter` (its certificate's
 * notAfter): what to ask nextCrl for as thisUpdate, and how to date the CRL once nextCrl has
 * answered.
 *
 * A CRL is checked, like a certificate, with a path to its issuer's certificate valid at the
 * time of the check (RFC 5280 6.3.3 (f)), and its nextUpdate is "the date by which the next CRL
 * will be issued" (5.1.2.5). A CA whose certificate has expired issues nothing a relying party
 * can validate, so:
 * - a CRL's nextUpdate is never later than the CA's notAfter. Until stop 40 of 2026-12-05 it was
 *   always thisUpdate + CERTMINT_CRL_VALIDITY_SECONDS, past the CA's end for a CA in its last
 *   period: a promise of a next CRL that the CA can no longer sign (an outside probe).
 * - once the CA has ended, its CRL keeps the dates of its last one: thisUpdate that of the CA's
 *   latest CRL (nextCrl's greatest(); never earlier than one validity period before the end, nor
 *   than the CA's notBefore), nextUpdate the CA's notAfter. It lists every revocation counted
 *   (one made after the end too: a superset is what a relying party should act on). Until stop
 *   40 such a CRL was dated now with nextUpdate a day ahead: a CRL whose thisUpdate is after
 *   its signer's notAfter, which no relying party can validate, and a "next CRL" promised by a
 *   CA that has none to give. Dated within the CA's life it is still what a relying party whose
 *   clock runs behind the server's (still within the CA's life by its clock), or one validating
 *   at a time in the past (`openssl verify -attime`), can use; at the present time everything
 *   under the CA fails its path check with the CA certificate anyway (6.1.3 (a)(2)). cRLNumbers
 *   still grow (5.2.3). Boulder and the CA/Browser Forum's Baseline Requirements (4.9.7) keep a
 *   CA's CRLs published for as long as certificates under it can be checked; certmint keeps
 *   serving the final one (crl-cache.ts: not re-signed each cache period) rather than refusing.
 */
export function crlDates(
  caNotBefore: Date | null,
  caNotAfter: Date | null,
  now: Date,
  crlValiditySeconds: number,
): {
  /** The thisUpdate to ask nextCrl for (whole seconds). */
  requested: Date;
  /** From nextCrl's thisUpdate, the dates the CRL carries. */
  dates: (slotThisUpdate: Date) => {
    thisUpdate: Date;
    nextUpdate: Date;
    endsWithCa: boolean;
    /** thisUpdate is not the one nextCrl recorded (a CRL dated at or after the CA's end). */
    redated: boolean;
  };
} {
  const validityMs = crlValiditySeconds * 1000;
  const at = wholeSeconds(now);
  const end = caNotAfter && wholeSeconds(caNotAfter);
  let requested = at;
  if (end && at >= end) {
    // Ended: dated as its last CRL, which nextCrl's greatest() picks out of the CA's row.
    const lastSecond = end.getTime() - 1000;
    const floor = Math.max(end.getTime() - validityMs, caNotBefore?.getTime() ?? lastSecond);
    requested = wholeSeconds(new Date(Math.min(floor, lastSecond)));
  }
  return {
    requested,
    dates: (slotThisUpdate) => {
      let thisUpdate = slotThisUpdate;
      let redated = false;
      // A CRL dated at or after the CA's end was signed by a build before stop 40 (or the clock
      // ran past the end and back): CRLs from then on are dated at the CA's last second, the
      // latest time a CRL of it can be valid (nextUpdate must be later than thisUpdate).
      if (end && thisUpdate >= end) {
        thisUpdate = new Date(end.getTime() - 1000);
        redated = true;
      }
      let nextUpdate = new Date(thisUpdate.getTime() + validityMs);
      const endsWithCa = end !== null && nextUpdate >= end;
      if (end && endsWithCa) nextUpdate = end;
      return { thisUpdate, nextUpdate, endsWithCa, redated };
    },
  };
}

/**
 * GetCertificateRevocationList: a fresh X.509 v2 CRL of the CA (RFC 5280 5), with every
 * revoked certificate it issued and every revoked intermediate CA it signed, with its reason,
 * until one CRL validity period after its notAfter (expiredEntriesKeptFrom). The cRLNumber and
 * thisUpdate are taken atomically from the CA row, so the number only ever grows (5.2.3) and
 * the thisUpdate never goes back. A DISABLED (or revoked) CA still publishes its CRL, and so
 * does one whose certificate has expired, dated within its life (crlDates).
 */
export async function currentCrl(deps: CrlDeps, ref: string): Promise<SignedCrl> {
  const ca = await resolveRef(ref, "certificate authority", "certificate_authority", (k) =>
    deps.store.cas.find(k),
  );
  if (!ca.certificatePem) {
    throw failedPrecondition(
      "CA_PENDING_CERTIFICATE",
      `certificate authority "${ca.slug}" has no certificate yet, so no CRL`,
      {
        preconditions: [
          {
            type: "CA_STATUS",
            subject: `certificate_authorities/${ca.slug}`,
            description: "status is PENDING_CERTIFICATE",
          },
        ],
      },
    );
  }
  // thisUpdate is the later of now and the previous CRL's thisUpdate, taken with the number
  // (nextCrl), so a CA's CRLs never go back in time: RFC 5280 5.1.2.4 and 5.2.3 order a CA's
  // CRLs by both, and a relying party that keeps the newest by thisUpdate kept, after a wall
  // clock stepped back (NTP, a VM resumed behind), the CRL before a new revocation (until
  // 2026-12-04). After such a step the CRLs keep the thisUpdate they had reached until the
  // clock passes it (a relying party whose clock is right refuses them as not yet valid until
  // then, as it refused the CRL signed before the step); nextUpdate stays one validity period
  // after thisUpdate.
  //
  // Two CRLs signed within one second share their thisUpdate, and so their HTTP Last-Modified
  // (RFC 9110 8.8.2: an HTTP-date, to the second). Dating the second one a second later would
  // keep them apart, but would date a CRL after the signing clock: OpenSSL refuses a CRL whose
  // thisUpdate is after its own clock with no leeway ("CRL is not yet valid"), which a relying
  // party fetching right after a revocation would meet, and CRLs signed faster than one a
  // second (a burst of revocations, CERTMINT_CRL_CACHE_SECONDS=0) would run ahead of the clock
  // without bound. Instead the second one is marked (sharesThisUpdate), and its Last-Modified
  // validates nothing: RFC 9110 8.8.2.2 lets a date validate only when the server knows the
  // representation did not change twice in that second (conditional-get.ts). The ETag, the
  // cRLNumber, is exact either way.
  // (Times are whole seconds: 5.1.2.4 encodes them with no fractions.)
  //
  // Near and past the CA's end the dates follow crlDates: nextUpdate never after the CA's
  // notAfter, nor after that of a CA above it (caPathEnd), and a CA that has ended keeps the
  // dates of its last CRL.
  const path = caPathEnd(deps, ca);
  const dating = crlDates(path.notBefore, path.notAfter, deps.now(), deps.crlValiditySeconds);
  //
  // The number is taken and the entries read in one transaction that holds the CA's row (FOR
  // NO KEY UPDATE, nextCrl) until they are read: the next number waits for this commit, and its
  // entries are read after it, so a CRL never lists fewer revocations than one numbered before
  // it (RFC 5280 5.2.3: the number says which CRL supersedes another). Until stop 45 of
  // 2026-12-06 each was its own statement, and of two CRLs signed at once on two replicas the
  // higher-numbered one could omit revocations the other listed (an outside probe: 1 and 7
  // serials). A revocation of this CA's certificates (its count is on the row) waits for the
  // read; issuance does not (its foreign key's KEY SHARE lock does not conflict).
  //
  // A CA that was revoked, or is below a revoked CA, lists each entry as OCSP answers it
  // (underRevokedCa, read in the same transaction, after nextCrl, so a CA revocation that
  // committed before the number was taken is seen): a certificate's own revocation where it
  // stands (keyCompromise at any time, another final reason no later than the CA's), else the
  // CA's time and reason (cACompromise for a CA revoked for keyCompromise or cACompromise,
  // RFC 5280 5.3.1): a hold under the revoked CA is listed so, not as certificateHold, which
  // would say it may yet be released (it cannot: release-hold.ts) while OCSP answers the CA's
  // revocation. Such a CRL is built from the rows (revokedIssuedBy), not from the entries
  // the store keeps encoded (those carry each row's own reason): a revoked CA signs nothing
  // new, and its CRL is signed again only once per cache period or revocation counted.
  // Until stop 47 of 2026-12-06 a hold under a revoked CA was listed as certificateHold at its
  // own time (test/certificates/stop47-own-key-compromise.test.ts).
  const read = await deps.store.transaction(async (tx) => {
    const slot = await tx.cas.nextCrl(ca.id, dating.requested);
    const dates = dating.dates(slot.thisUpdate);
    const listedAfter = expiredEntriesKeptFrom(dates.thisUpdate, deps.crlValiditySeconds);
    const current = (await tx.cas.find({ id: ca.id })) ?? ca;
    const revokedCa = await revokedAbove(tx.cas, current);
    // Under a revoked CA every certificate it signed is listed, revoked itself or not: OCSP
    // answers each one revoked (underRevokedCa), and a relying party that checks only the
    // leaf's CRL (openssl verify -crl_check) must not accept what the responder calls revoked.
    // Until stop 52 of 2026-12-07 only rows revoked themselves were listed (an outside probe,
    // REVOCATION F2).
    const subordinates: SerialStatus[] = revokedCa
      ? await tx.cas.childrenListed(ca.id, listedAfter)
      : await tx.cas.revokedChildren(ca.id, listedAfter);
    const encoded = revokedCa
      ? undefined
      : await encodedLeaves(tx, ca.id, listedAfter, subordinates as RevokedEntry[]);
    const leaves: SerialStatus[] = encoded
      ? []
      : revokedCa
        ? await tx.certificates.issuedByRevokedCa(ca.id, listedAfter)
        : await tx.certificates.revokedIssuedBy(ca.id, listedAfter);
    return { slot, dates, subordinates, encoded, leaves, revokedCa };
  });
  const { slot, subordinates, encoded, leaves, revokedCa } = read;
  const { crlNumber, previousThisUpdate } = slot;
  const { thisUpdate, nextUpdate, endsWithCa, redated } = read.dates;
  const entry = (c: SerialStatus) => {
    const own: OcspCertStatus = c.revokedAt
      ? {
          kind: "revoked",
          revokedAt: c.revokedAt,
          reason: c.revocationReason ?? "UNSPECIFIED",
          ...(c.invalidityDate ? { invalidityDate: c.invalidityDate } : {}),
        }
      : { kind: "good" };
    const [listed] = revokedCa ? underRevokedCa([own], revokedCa) : [own];
    // underRevokedCa answers `revoked` for every certificate under a revoked CA, and without
    // one only revoked rows were read: `good` is not reached.
    if (listed?.kind !== "revoked") return undefined;
    return {
      serial: c.serialNumber,
      revokedAt: listed.revokedAt,
      reason: listed.reason,
      ...(listed.invalidityDate ? { invalidityDate: listed.invalidityDate } : {}),
    };
  };
  // Leaves in the store's order, then the subordinate CAs: RFC 5280 5.1.2.6 sets no order, and
  // sorting 10^5 entries only held the event loop.
  const revoked: CrlRevokedEntry[] = [];
  for (const c of leaves) {
    const e = entry(c);
    if (e) revoked.push(e);
  }
  for (const c of subordinates) {
    const e = entry(c);
    if (e) revoked.push(e);
  }
  const { der } = await buildCrl({
    issuer: caIssuer(deps, ca),
    signatureAlgorithm: ca.signatureAlgorithm,
    crlNumber,
    thisUpdate,
    nextUpdate,
    revoked,
    encoded,
  });
  deps.observer?.crlSigned({
    caId: ca.id,
    ca: ca.slug,
    thisUpdate,
    nextUpdate,
    entries: revoked.length + (encoded?.count ?? 0),
    bytes: der.length,
  });
  return {
    der,
    crlNumber,
    thisUpdate,
    nextUpdate,
    revocationCount: String(ca.revocationCount),
    // A redated CRL shares its thisUpdate with every redated one before it.
    sharesThisUpdate: redated || previousThisUpdate?.getTime() === thisUpdate.getTime(),
    endsWithCa,
  };
}
