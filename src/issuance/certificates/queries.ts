import { invalidField, quoted } from "../../errors";
import type { RevocationReason } from "../../model/pki";
import type { OcspCertStatus } from "../../signer";
import { type RenewalStatus, renewalStatuses } from "../auto-renewal/status";
import { ownRevocationStands, underRevokedCa } from "../ca/ocsp";
import type { Call } from "../call";
import { type ListQueryAdvice, listReadBound, readWithinBound } from "../common/list-bound";
import { throughListGate } from "../common/list-gate";
import { listPage, type Page, type PageByteBudget } from "../common/list-page";
import type { PageScope } from "../common/pagination";
import { resolveRef } from "../common/refs";
import { hasControlCharacters } from "../common/text";
import type { IssuanceDeps } from "../deps";
import { toALabels } from "../policy-engine/idna";
import {
  type Certificate,
  type CertificateFilter,
  type CertificateListView,
  type CertificateState,
  type CertificateView,
  certificateView,
  type IssuerRevocations,
  type ListedCertificate,
} from "../repositories";
import { findCertificate } from "./find";

export type CertificateStatusFilter = CertificateState;

export interface ListCertificatesInput {
  pageSize: number;
  pageToken: string;
  profile?: string;
  ca?: string;
  status?: CertificateStatusFilter;
  expiresBefore?: Date;
  nameContains?: string;
  /** FULL when undefined (the API's CERTIFICATE_VIEW_UNSPECIFIED). */
  view?: CertificateListView;
}

export async function getCertificate(deps: IssuanceDeps, ref: string): Promise<CertificateView> {
  return certificateView(await findCertificate(deps.store, ref, "certificate"));
}

/**
 * Certificates newest first, filtered; keyset pagination on (created_at, id) so pages are
 * stable and each is an index range scan (store/certificate-page.ts). The view is not part of the
 * page token's scope: a caller may page through in BASIC and fetch one page again in FULL.
 */
export async function listCertificates(
  deps: IssuanceDeps,
  call: Pick<Call, "deadlineAt" | "signal" | "actor" | "whileOutside">,
  input: ListCertificatesInput,
): Promise<
  Page<ListedCertificate> & {
    renewal: Map<string, RenewalStatus>;
    /** What the status filter was decided with: each row's status is shown with it too. */
    revokedIssuers: IssuerRevocations;
  }
> {
  const scope: PageScope = {
    list: "ListCertificates",
    filter: {
      // AIP-158: a token is valid for the caller it was returned to. Until stop 42 of
      // 2026-12-06 a token passed to another access token continued the list for it.
      caller: call.actor.id,
      certificate_profile: input.profile,
      certificate_authority: input.ca,
      status: input.status,
      expires_before: input.expiresBefore,
      name_contains: input.nameContains,
    },
  };
  const filter: CertificateFilter = {
    now: deps.now(),
    state: input.status,
    expiresBefore: input.expiresBefore,
  };
  if (input.profile) {
    const profile = await resolveRef(
      input.profile,
      "certificate profile",
      "certificate_profile",
      (k) => deps.store.profiles.find(k),
    );
    filter.profileId = profile.id;
  }
  if (input.ca) {
    const ca = await resolveRef(input.ca, "certificate authority", "certificate_authority", (k) =>
      deps.store.cas.find(k),
    );
    filter.caId = ca.id;
  }
  if (input.nameContains) {
    const needle = input.nameContains.trim().toLowerCase();
    if (needle.length > 253 || hasControlCharacters(needle)) {
      throw invalidField(
        "NAME_FILTER_TOO_LONG",
        "name_contains is at most 253 printable characters",
        "name_contains",
        "too long or not printable",
      );
    }
    filter.nameContains = asSignedName(needle);
  }
  let renewal = new Map<string, RenewalStatus>();
  const page = await listPage(
    deps.keyring,
    input,
    scope,
    (query) =>
      // The bound is taken once the list has its place: the time it waited is not the query's.
      throughListGate(deps.listGate, call, async () => {
        const { bound, byDeadline } = listReadBound(deps.listQueryTimeoutMs ?? 0, call);
        // The CAs revoked or below a revoked CA (tens of rows), read once before the page, in
        // its place: the status filter and the statuses the rows show are decided with the
        // same set (a CA revoked while the page is read shows from the next read on).
        filter.revokedIssuers = await deps.store.certificates.revokedIssuers();
        const rows = await readWithinBound(
          deps.store.certificates.listNewestFirst(
            filter,
            { ...query, bound },
            input.view ?? "FULL",
          ),
          bound,
          byDeadline,
          () => certificateQueryAdvice(filter),
        );
        // In the same place: the page stays in memory until its answer is built, and its renewal
        // statuses are a query of their own. Read after the place was given back, pages of many
        // callers waited for a pooled connection in memory together (list-gate.ts).
        renewal = await renewalStatuses(deps, rows);
        return rows;
      }),
    CERTIFICATE_PAGE_BUDGET,
  );
  return { ...page, renewal, revokedIssuers: filter.revokedIssuers ?? new Map() };
}

/**
 * 3 MiB of certificates per page at most, under the 4 MiB that gRPC clients accept by default
 * (grpc-js, grpc-go, grpcurl), with room for what the estimate leaves out (field tags, a
 * multi-byte character counted as one). The estimate: the PEMs, every SAN twice over (the names
 * and the DER inside the PEM are counted by the PEM; the repeated fields again), and a fixed
 * part for the rest of the message.
 */
const CERTIFICATE_PAGE_BUDGET: PageByteBudget<ListedCertificate> = {
  bytes: 3 * 1024 * 1024,
  sizeOf: (c) => {
    let n = 1024 + (c.certificatePem?.length ?? 0);
    for (const pem of c.chainPem ?? []) n += pem.length;
    for (const names of [c.sans.dns, c.sans.ip, c.sans.email, c.sans.uri]) {
      for (const name of names) n += name.length + 4;
    }
    return n;
  },
};

/** Where they were first defined; shared with ListAuditRecords now (common/list-bound.ts). */
export { LIST_QUERY_TIMEOUT_SETTING, listReadBound } from "../common/list-bound";

// Non-ASCII, and otherwise only what a host name holds (letters, digits, '-', '.').
// biome-ignore lint/suspicious/noControlCharactersInRegex: the complement of ASCII
const NON_ASCII = /[^\x00-\x7f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: every ASCII character but [A-Za-z0-9.-]
const NOT_HOST_ASCII = /[\x00-\x2c\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]/;

/**
 * A name_contains as the names it looks for are stored: DNS names are signed, and matched, in
 * A-labels (UTS #46, as every requested name is normalised), so "bücher.example.com" is looked
 * for as "xn--bcher-kva.example.com". Taken as whole labels: a fragment of one ("ücher") has
 * no A-label form of its own. Anything else (ASCII, an email address) as given. Until stop 43
 * of 2026-12-06 the Unicode form found nothing (an outside probe;
 * test/certificates/name-contains-idn.test.ts).
 */
function asSignedName(needle: string): string {
  if (!NON_ASCII.test(needle) || NOT_HOST_ASCII.test(needle)) return needle;
  const a = toALabels(needle);
  return a.ok ? a.value : needle;
}

/**
 * How to narrow a certificate query that ran out of time: a name_contains under 3 characters
 * has no trigram for the name index, and one made of triples most names share narrows little
 * (README "Benchmarks", name contains).
 */
function certificateQueryAdvice(filter: CertificateFilter): ListQueryAdvice {
  const needle = filter.nameContains;
  return {
    subject: "certificate",
    why:
      needle === undefined
        ? ""
        : needle.length < 3
          ? ` name_contains ${quoted(needle)} has fewer than 3 characters, so no index serves it and every certificate is read.`
          : ` name_contains ${quoted(needle)} may be made of character triples most names share, which the name index cannot narrow.`,
    narrow:
      "Narrow it: a name_contains of at least 3 characters that only the wanted names contain (a host label, not the shared domain), or a certificate_profile, certificate_authority, status or expires_before filter.",
  };
}

/**
 * A certificate's status, computed at read time against `revokedIssuers` (the CAs revoked or
 * below a revoked CA, CertificateRepository.revokedIssuers), the first that applies:
 *
 * - REVOKED: revoked itself (a hold included) while its CAs are in good standing; under a
 *   revoked CA, when its own revocation stands, as OCSP answers it (ca/ocsp.ts
 *   ownRevocationStands): keyCompromise at any time (a fact about the subscriber's key, the
 *   more specific and severe one, RFC 5280 5.3.1; what the CA's CRL lists), any other reason
 *   but certificateHold no later than that CA (the first and more precise fact);
 * - ISSUER_REVOKED: its issuing CA, or a CA above it, was revoked, and its own revocation does
 *   not stand: relying parties that check the CA's CRL refuse it, and OCSP answers `revoked`
 *   for it with the CA's time and reason (RFC 6960 2.2). A hold under a revoked CA is shown so
 *   (it can never be released: release-hold.ts), and so is a certificate revoked on its own
 *   after its CA for another reason than keyCompromise (recorded before stop 47; refused since,
 *   revoke.ts): the CA's revocation came first. Before EXPIRED, as REVOKED is: OCSP answers
 *   `revoked` for an expired leaf of a revoked CA too, and the revocation is what made it
 *   unusable first, or also;
 * - EXPIRED: past its notAfter;
 * - ACTIVE.
 *
 * Until stop 45 of 2026-12-06 the leaves of a revoked CA showed ACTIVE (and a status filter of
 * ACTIVE listed them), while OCSP and the CRLs said revoked (test/certificates/issuer-revoked-status.test.ts).
 * Until stop 47 of 2026-12-06 a hold under a revoked CA, or a certificate revoked on its own
 * after its CA, showed REVOKED with its own time and reason (a hold looked releasable) while
 * OCSP answered the CA's (an outside probe, S F3 of stop 45;
 * test/certificates/stop47-issuer-revoked.test.ts); and, within stop 47, a keyCompromise
 * recorded after the CA's revocation showed ISSUER_REVOKED with the CA's time and reason while
 * the CA's CRL listed keyCompromise at its own time (an outside probe, S F3 of stop 47;
 * test/certificates/stop47-own-key-compromise.test.ts).
 */
export function certificateStatus(
  cert: Pick<Certificate, "revokedAt" | "revocationReason" | "notAfter" | "caId">,
  now: Date,
  revokedIssuers?: IssuerRevocations,
): CertificateStatusFilter {
  return shownStatus(cert, now, revokedIssuers).status;
}

/** A certificate's status as shown, and the revocation that goes with it. */
export interface ShownStatus {
  status: CertificateStatusFilter;
  /**
   * REVOKED: its own (no later than a revoked CA's); ISSUER_REVOKED: the CA's, as OCSP answers
   * it; else null.
   */
  revokedAt: Date | null;
  revocationReason: RevocationReason | null;
  /** The invalidity date OCSP and the CRL publish with that revocation (RFC 5280 5.3.2), if any. */
  invalidityDate: Date | null;
}

/**
 * certificateStatus, with the revocation time and reason to show: the certificate's own when
 * REVOKED (a keyCompromise recorded after its CA's revocation included); when ISSUER_REVOKED,
 * those OCSP answers for it (underRevokedCa itself, given the
 * certificate's own status as OCSP reads it, so the two cannot drift): the revoked CA's time,
 * and cACompromise when it was revoked for keyCompromise or cACompromise (RFC 5280 5.3.1),
 * else its own reason.
 */
export function shownStatus(
  cert: Pick<Certificate, "revokedAt" | "revocationReason" | "notAfter" | "caId"> & {
    invalidityDate?: Date | null;
  },
  now: Date,
  revokedIssuers?: IssuerRevocations,
): ShownStatus {
  const own: OcspCertStatus = cert.revokedAt
    ? {
        kind: "revoked",
        revokedAt: cert.revokedAt,
        reason: cert.revocationReason ?? "UNSPECIFIED",
        ...(cert.invalidityDate ? { invalidityDate: cert.invalidityDate } : {}),
      }
    : { kind: "good" };
  const issuer = cert.caId ? revokedIssuers?.get(cert.caId) : undefined;
  const [answer] = issuer ? underRevokedCa([own], issuer) : [own];
  if (answer?.kind !== "revoked") {
    return {
      status: cert.notAfter <= now ? "EXPIRED" : "ACTIVE",
      revokedAt: null,
      revocationReason: null,
      invalidityDate: null,
    };
  }
  // The certificate's own revocation stands (no revoked CA, or ocsp.ts ownRevocationStands),
  // dated no later than the CA's (underRevokedCa).
  const ownStands =
    own.kind === "revoked" && (!issuer?.revokedAt || ownRevocationStands(own, issuer.revokedAt));
  return {
    status: ownStands ? "REVOKED" : "ISSUER_REVOKED",
    revokedAt: answer.revokedAt,
    revocationReason: answer.reason,
    invalidityDate: answer.invalidityDate ?? null,
  };
}
