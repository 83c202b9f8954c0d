import { failedPrecondition, type PreconditionViolation } from "../../errors";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import { removedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import { checkEtag } from "../common/etag";
import { resolveRef } from "../common/refs";
import { concurrentUpdate, stillThere } from "../common/row-lock";
import {
  type AccessTokenRepository,
  type AuditRepository,
  type CaRepository,
  type CertificateAuthority,
  type CertificateRepository,
  type ProfileRepository,
  StillReferenced,
  type StoreWith,
} from "../repositories";
import { expiredEntriesKeptFrom } from "./crl";

export interface DeleteCaDeps {
  store: StoreWith<
    CallerLocks & {
      cas: Pick<CaRepository, "find" | "lockForUpdate" | "childSlugs" | "delete">;
      profiles: Pick<ProfileRepository, "slugsUsingCa">;
      certificates: Pick<CertificateRepository, "countIssuedBy">;
      tokens: Pick<AccessTokenRepository, "slugsBoundToCa">;
      audit: Pick<AuditRepository, "insert">;
    }
  >;
  now: () => Date;
  /** How long an expired certificate's entry stays on its issuer's CRLs (crl.ts). */
  crlValiditySeconds: number;
}

/**
 * Deletes a CA and its sealed key. Refused while anything depends on it: profiles that issue
 * with it, CAs below it, certificates it issued (whose revocation status it must keep
 * publishing), a revoked CA while its certificate is valid (it is on its parent's CRL), and access tokens in force whose client certificate binding names it (a token
 * left naming a deleted CA, as until 2026-12-05, goes on authenticating whatever certificate
 * chains to that CA's certificate in the TLS client bundle). The row is locked while the dependents are counted; the foreign keys
 * (on delete restrict) are the last line should anything slip past.
 */
export async function deleteCa(
  deps: DeleteCaDeps,
  call: Call,
  input: { ca: string; etag: string },
): Promise<void> {
  let slug = input.ca;
  try {
    await changeTransaction(deps, { call }, async (tx) => {
      const found = await resolveRef(
        input.ca,
        "certificate authority",
        "certificate_authority",
        (k) => tx.cas.find(k),
      );
      const ca = stillThere(await tx.cas.lockForUpdate(found.id), {
        what: "certificate authority",
        ref: found.slug,
      });
      slug = ca.slug;
      checkEtag(input.etag, ca.version, `certificate authority "${ca.slug}"`);
      // One after another: a transaction is one connection, and pg runs one query at a time
      // on it (overlapping queries are deprecated in pg 8 and refused in pg 9).
      const profiles = await tx.profiles.slugsUsingCa(ca.id);
      const children = await tx.cas.childSlugs(ca.id);
      const issued = await tx.certificates.countIssuedBy(ca.id);
      const bound = await tx.tokens.slugsBoundToCa(ca.id, deps.now());
      const blockers = blockersOf(ca.slug, profiles, children, issued, bound);
      if (blockers.length > 0) throw inUse(ca.slug, blockers);
      refuseWhileListed(ca, deps.now(), deps.crlValiditySeconds);
      refuseWhileRevocable(ca, deps.now());
      if (!(await tx.cas.delete(ca.id, ca.version))) {
        throw concurrentUpdate(`certificate authority "${ca.slug}"`);
      }
      // The audit record commits with the deletion (issue 6).
      await tx.audit.insert(
        changeRecord(
          call,
          { type: "certificate_authority", id: ca.id },
          deps.now(),
          undefined,
          removedFields(ca, ["slug", "subject", "serialNumber", "parentId"]),
        ),
      );
    });
  } catch (err) {
    if (err instanceof StillReferenced) throw inUse(slug, []);
    throw err;
  }
}

/**
 * A revoked CA whose certificate has not expired is on its parent's CRL, read from its row
 * (ca/crl.ts): deleted, it would drop off the next CRL and its certificate, revoked perhaps for
 * key compromise, pass revocation checks again. RFC 5280 3.3 keeps an entry until it "appears on
 * one regularly scheduled CRL issued beyond the revoked certificate's validity period", and
 * certmint keeps a leaf's for one CRL validity period past its notAfter (expiredEntriesKeptFrom),
 * so that a relying party whose clock runs behind still finds it. Found by the third outside
 * probe of 2026-12-05: until then it could be deleted, and `openssl verify -crl_check` accepted
 * it after the parent's next CRL; until stop 53 of 2026-12-07 it could be deleted the moment it
 * expired, its entry gone from the next CRL while a leaf's would have stayed.
 */
function refuseWhileListed(ca: CertificateAuthority, now: Date, crlValiditySeconds: number): void {
  const notAfter = ca.notAfter;
  // A CRL signed now lists it while its notAfter is at or after expiredEntriesKeptFrom(now).
  if (!ca.revokedAt || !notAfter) return;
  if (notAfter.getTime() < expiredEntriesKeptFrom(now, crlValiditySeconds).getTime()) return;
  const listedUntil = new Date(notAfter.getTime() + crlValiditySeconds * 1000).toISOString();
  throw failedPrecondition(
    "CA_REVOKED_LISTED",
    `certificate authority "${ca.slug}" is revoked and stays on its parent's CRL until one CRL validity period after its certificate expires (${notAfter.toISOString()}): it can be deleted after ${listedUntil}`,
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: `certificate_authorities/${ca.slug}`,
          description: `revoked at ${ca.revokedAt.toISOString()}, listed until ${listedUntil}`,
        },
      ],
    },
  );
}

/**
 * An intermediate certmint signed (a parent in certmint) whose certificate has not expired, and
 * is not revoked, is answered `good` by its parent's OCSP and absent from its CRLs only while
 * its row is there: deleted, it would be answered `unknown`, and nothing certmint publishes could
 * ever revoke it, though its certificate stays valid for years and its key may have been copied.
 * So it is revoked first (then kept listed until it expires: refuseWhileListed). Until stop 52 of
 * 2026-12-07 it could be deleted (an outside probe, REVOCATION F3).
 */
function refuseWhileRevocable(ca: CertificateAuthority, now: Date): void {
  const notAfter = ca.notAfter;
  if (!ca.parentId || ca.revokedAt || !notAfter || notAfter.getTime() <= now.getTime()) return;
  throw failedPrecondition(
    "CA_NOT_REVOKED",
    `certificate authority "${ca.slug}" was signed by another certmint CA and its certificate is valid until ${notAfter.toISOString()}; deleted, it could never be revoked: revoke it (RevokeCertificateAuthority), and delete it once its certificate has expired`,
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: `certificate_authorities/${ca.slug}`,
          description: `not revoked, valid until ${notAfter.toISOString()}`,
        },
      ],
    },
  );
}

function blockersOf(
  slug: string,
  profiles: string[],
  children: string[],
  issued: number,
  bound: string[],
): PreconditionViolation[] {
  return [
    ...profiles.map((p) => ({
      type: "CA_IN_USE_BY_PROFILE",
      subject: `certificate_profiles/${p}`,
      description: `profile "${p}" issues with this CA`,
    })),
    ...children.map((c) => ({
      type: "CA_HAS_SUBORDINATE",
      subject: `certificate_authorities/${c}`,
      description: `CA "${c}" was signed by this CA`,
    })),
    ...(issued > 0
      ? [
          {
            type: "CA_HAS_CERTIFICATES",
            subject: `certificate_authorities/${slug}`,
            description: `${issued} certificate(s) issued: disable the CA instead, its CRL must stay available`,
          },
        ]
      : []),
    ...bound.map((t) => ({
      type: "CA_NAMED_BY_BINDING",
      subject: `access_tokens/${t}`,
      description: `access token "${t}" has a client certificate binding that names this CA: revoke it first`,
    })),
  ];
}

function inUse(slug: string, blockers: PreconditionViolation[]) {
  return failedPrecondition(
    "CA_IN_USE",
    `certificate authority "${slug}" cannot be deleted: ${blockers.length ? blockers.map((b) => b.description).join("; ") : "something still refers to it"}`,
    { preconditions: blockers },
  );
}
