import { failedPrecondition } from "../../errors";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { removedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { storedErrorOf } from "../certificates/outcome";
import { checkEtag } from "../common/etag";
import { resolveRef } from "../common/refs";
import { concurrentUpdate, stillThere } from "../common/row-lock";
import type {
  AccessTokenRepository,
  AuditRepository,
  CertificateRepository,
  ProfileRepository,
  RenewalRepository,
  RequestRepository,
  StoreWith,
} from "../repositories";
import type { DeleteProfileInput } from "./inputs";

export interface DeleteProfileDeps {
  store: StoreWith<
    CallerLocks & {
      profiles: Pick<ProfileRepository, "find" | "lockForUpdate" | "delete">;
      requests: Pick<RequestRepository, "countWaiting">;
      certificates: Pick<CertificateRepository, "countValidOfProfile">;
      renewals: Pick<RenewalRepository, "endForDeletedProfile">;
      tokens: Pick<AccessTokenRepository, "forgetProfile" | "lockListingProfile">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  now: () => Date;
}

/**
 * Deletes a profile (ABORTED on a stale etag); returns the tokens that listed it, whose cached
 * credentials (and open watches' scope, api/watch-certificates.ts) the caller refreshes. Its certificate requests and certificates are
 * kept: they reference profile_id without a foreign key, so their history outlives the profile.
 * Not while requests wait for an approver's decision on it (FAILED_PRECONDITION
 * PROFILE_HAS_WAITING_REQUESTS): approving one needs the profile, and until 2026-12-05 each
 * such request failed when approved (CERTIFICATE_PROFILE_NOT_FOUND) after its requester had
 * waited for nothing. Approve or reject them first (ListCertificateRequests lists them).
 */
/** Valid certificates are counted up to this (the message says "N+" beyond). */
const VALID_COUNTED_UP_TO = 10_001;

export async function deleteProfile(
  deps: DeleteProfileDeps,
  call: Call,
  input: DeleteProfileInput,
): Promise<{ tokensListingIt: string[] }> {
  return changeTransaction(deps, { call }, async (tx) => {
    const found = await resolveRef(input.ref, "certificate profile", "certificate_profile", (k) =>
      tx.profiles.find(k),
    );
    // The tokens listing it first, then the profile: the order an issuance by one of them takes
    // (its storing statement holds its token, then its insert reads the profile FOR KEY SHARE,
    // Migration20261206153000CertificateProfileGuard). In the other order the two deadlocked:
    // until stop 46 of 2026-12-06 most forced deletions of a busy profile ended ABORTED after
    // PostgreSQL's deadlock timeout, and issuances with them (an outside probe;
    // test/profiles/delete-vs-scoped-issuance.test.ts).
    const tokensListingIt = await tx.tokens.lockListingProfile(found.id);
    const row = stillThere(await tx.profiles.lockForUpdate(found.id), {
      what: "certificate profile",
      ref: found.slug,
    });
    const what = `certificate profile "${row.slug}"`;
    checkEtag(input.etag, row.version, what);
    const waiting = await tx.requests.countWaiting(row.id);
    if (waiting > 0) {
      throw failedPrecondition(
        "PROFILE_HAS_WAITING_REQUESTS",
        `${what} cannot be deleted: ${waiting} request(s) wait for approval on it; approve or reject them first (ListCertificateRequests with certificate_profile "${row.slug}" lists them)`,
        {
          preconditions: [
            {
              type: "PROFILE_HAS_WAITING_REQUESTS",
              subject: `certificate_profiles/${row.slug}`,
              description: `${waiting} request(s) waiting for approval`,
            },
          ],
        },
      );
    }
    // Its valid certificates could no longer be renewed, by their clients or by the server:
    // every service on automatic renewal would go down as its certificate expired. Until stop
    // 41 of 2026-12-06 such a profile went at one command (an outside probe); now only with
    // force.
    if (!input.force) {
      const valid = await tx.certificates.countValidOfProfile(
        row.id,
        deps.now(),
        VALID_COUNTED_UP_TO,
      );
      if (valid > 0) {
        const count = valid >= VALID_COUNTED_UP_TO ? `${VALID_COUNTED_UP_TO - 1}+` : String(valid);
        throw failedPrecondition(
          "PROFILE_HAS_CERTIFICATES",
          `${what} has ${count} certificate(s) that are still valid: deleted, it could renew none of them, and their automatic renewal would stop; revoke them or let them expire, or delete with force (CLI: --force)`,
          {
            preconditions: [
              {
                type: "PROFILE_HAS_CERTIFICATES",
                subject: `certificate_profiles/${row.slug}`,
                description: `${count} valid certificate(s)`,
              },
            ],
            metadata: { valid_certificates: count },
          },
        );
      }
    }
    if (!(await tx.profiles.delete(row.id, row.version))) throw concurrentUpdate(what);
    // Certificates server-driven renewal would have renewed: it renews them no more, and their
    // watchers (a sidecar) are told so now, with a RENEWAL_FAILED event each and the state
    // FAILED. Until stop 51 of 2026-12-07 they were dropped silently, IDLE, and a sidecar waited
    // for a renewal until its certificate expired (an outside probe, RENEWAL F2).
    await tx.renewals.endForDeletedProfile(
      row.id,
      storedErrorOf(
        failedPrecondition(
          "PROFILE_DELETED",
          `${what} was deleted: its certificates are renewed no more; issue a new certificate on another profile before this one expires`,
        ),
      ),
      deps.now(),
    );
    // Tokens that listed it list it no more: an id that names nothing grants nothing, but
    // GetAccessToken showed it until 2026-12-05 (an outside probe), and an auditor reading a
    // token's scope should see only profiles that exist.
    await tx.tokens.forgetProfile(row.id);
    // The audit record commits with the deletion (issue 6).
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "certificate_profile", id: row.id },
        deps.now(),
        undefined,
        removedFields(row, ["slug", "policyId", "caId", "selfSigned"]),
      ),
    );
    return { tokensListingIt };
  });
}
