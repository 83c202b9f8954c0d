import { failedPrecondition, invalidField } from "../../errors";
import type { RevocationReason } from "../../model/pki";
import { parseCertificate } from "../../signer";
import { type CallerLocks, changeTransaction } from "../access-tokens/caller";
import {
  type LastAdminStore,
  lastAdminCredential,
  openLastAdminGuard,
} from "../access-tokens/last-admin";
import { type FieldChange, updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import {
  earliestDate,
  invalidityDateOf,
  refuseInvalidityAfterRevocation,
  refuseOtherInvalidityDate,
} from "../certificates/invalidity-date";
import { assertRevocationReason } from "../certificates/revocation-reason";
import { resolveRef } from "../common/refs";
import { stillThere } from "../common/row-lock";
import type { IssuanceDeps } from "../deps";
import type {
  AuditRepository,
  CaRepository,
  CertificateAuthority,
  CertificateAuthorityView,
  StoreWith,
} from "../repositories";
import { caView } from "../repositories";

export interface RevokeCaInput {
  /** The CA, by id or slug. */
  ca: string;
  reason: RevocationReason;
  /** RFC 5280 5.3.2 (certificates/invalidity-date.ts); undefined when none is given. */
  invalidityDate?: Date;
}

export interface RevokeCaDeps {
  store: StoreWith<
    LastAdminStore &
      CallerLocks & {
        cas: Pick<
          CaRepository,
          | "find"
          | "lockForUpdate"
          | "update"
          | "disableDescendants"
          | "countRevocation"
          | "lockSigning"
          | "childSlugs"
        >;
        audit: Pick<AuditRepository, "insert">;
      }
  >;
  now: () => Date;
  /** Told after a CA is revoked (with its parent as `caId`): the parent's CRL is re-signed. */
  onCertificateRevoked?: IssuanceDeps["onCertificateRevoked"];
}

/**
 * Revokes an intermediate CA signed by a CA here (RFC 5280 5.3.1 reason): its serial goes on
 * its parent's CRL (ca/crl.ts), so relying parties that check CRLs refuse everything below it
 * (`openssl verify -crl_check_all`); the CA and every CA below it are DISABLED in the same
 * transaction and sign nothing more, while their own CRLs are still served. Final: a revoked
 * CA (or one below it) is never enabled again. Revoking a revoked CA changes nothing but
 * disabling any CA below it still enabled, and raising its reason to keyCompromise. A certificate or CA the tree signs while the
 * revocation runs is stored before it commits, or refused (CA_REVOKED): the signing locks.
 *
 * Refused (FAILED_PRECONDITION) for
 *  - a root: a trust anchor is not validated against any CRL (RFC 5280 6.1: the path starts
 *    below it), and no issuer exists to list it; remove it from the trust stores and disable
 *    it instead;
 *  - an external intermediate: its parent is outside, and only that CA can list it on its CRL
 *    (ask its operator); disable it here with UpdateCertificateAuthority.
 */
export async function revokeCa(
  deps: RevokeCaDeps,
  call: Call,
  input: RevokeCaInput,
): Promise<CertificateAuthorityView> {
  assertRevocationReason(input.reason);
  // RFC 5280 5.3.1: certificateHold is a temporary status, and a CA's revocation here is final
  // (it and everything below it stay disabled). Accepted until the third stop of 2026-12-05.
  if (input.reason === "CERTIFICATE_HOLD") {
    throw invalidField(
      "REVOCATION_REASON_INVALID",
      "a certificate authority's revocation is final, and certificateHold is a temporary status (RFC 5280 5.3.1); choose another reason, or disable the CA with UpdateCertificateAuthority to stop it for a while",
      "reason",
      "CERTIFICATE_HOLD is not accepted for a CA",
    );
  }
  const invalidityDate = invalidityDateOf(input.invalidityDate, input.reason, deps.now());
  const found = await resolveRef(input.ca, "certificate authority", "certificate_authority", (k) =>
    deps.store.cas.find(k),
  );
  /** The revoked CA and every CA below it, whose OCSP answers change (countRevocationBelow). */
  let tree: string[] = [];
  const revoked = await changeTransaction(deps, { call, lastAdminGuard: true }, async (tx) => {
    tree = [];
    // Every client certificate below the CA stops authenticating (auth/client-certificates.ts),
    // so the revocation is held to the last-admin rule (access-tokens/last-admin.ts): refused
    // when admin bindings with certificates under it are the last usable admin credentials.
    // The admin set's lock comes first, before the signing lock and the row's; which
    // credentials stay usable is judged at the time it is taken.
    const lastAdmin = await openLastAdminGuard(tx, deps.now());
    // Before the status changes: a certificate or CA this tree is signing now is stored before
    // the revocation commits (and its CAs are disabled below), or refused (certmint_ca_signs).
    // Before the row's lock, too: an insert takes the signing lock first and the row's key
    // share (its foreign key) after, so the other order would deadlock with it.
    await tx.cas.lockSigning(found.id);
    const ca = stillThere(await tx.cas.lockForUpdate(found.id), {
      what: "certificate authority",
      ref: found.slug,
    });
    // The revocation's time, read once the signing lock and the row's are held: every
    // certificate and CA the tree signed is stored by now (the lock waited for them), so each is
    // dated before the revocationDate the parent's CRL lists (RFC 5280 5.3.1), OCSP's
    // revocationTime (RFC 6960 4.2.1), the audit record and the descendants' disable, which all
    // use this one instant. Until stop 46 of 2026-12-06 it was read before the locks, and
    // certificates stored while the revocation waited were dated up to 240 ms after it (an
    // outside probe, F3).
    const now = deps.now();
    const audit = (changes?: FieldChange[]) =>
      changeRecord(call, { type: "certificate_authority", id: found.id }, now, undefined, changes);
    refuseUnrevocable(ca);
    if (ca.revokedAt) {
      // Revoked before: the tree stays disabled (a CA stored under it before the signing locks
      // existed, 2026-12-05, is disabled now).
      await tx.cas.disableDescendants(ca.id, now);
      // A key compromise learnt later (keyCompromise, or cACompromise) is what relying parties
      // must see (RFC 5280 5.3.1), at the first revocation's time, as for certificates
      // (certificates/revoke.ts); a compromise already recorded stands.
      const compromise = (r: string | null) => r === "KEY_COMPROMISE" || r === "CA_COMPROMISE";
      const raised = compromise(input.reason) && !compromise(ca.revocationReason);
      const what = `certificate authority "${ca.slug}"`;
      // Its revocation time stands whatever changes: a date after it adds nothing (RFC 5280
      // 5.3.2; certificates/invalidity-date.ts), but a retry of the one recorded answers as ever.
      if (
        invalidityDate &&
        invalidityDate.getTime() > ca.revokedAt.getTime() &&
        ca.invalidityDate?.getTime() !== invalidityDate.getTime()
      ) {
        refuseInvalidityAfterRevocation(what, ca.revokedAt, invalidityDate);
      }
      // A compromise known to go back further than recorded: the date only moves earlier, as
      // for a certificate revoked for keyCompromise (certificates/revoke.ts).
      const backdated =
        !raised &&
        compromise(input.reason) &&
        compromise(ca.revocationReason) &&
        invalidityDate !== undefined &&
        (!ca.invalidityDate || invalidityDate.getTime() < ca.invalidityDate.getTime());
      // Raised: the earlier of the date recorded and the one given (a raise never dates later).
      const dated = raised || backdated ? earliestDate(invalidityDate, ca.invalidityDate) : null;
      if (!raised && !backdated && invalidityDate) {
        refuseOtherInvalidityDate(
          {
            type: "CA_STATUS",
            subject: `certificate_authorities/${ca.slug}`,
            what,
          },
          ca,
          invalidityDate,
        );
      }
      if (raised || backdated) {
        await tx.cas.update(
          { id: ca.id },
          {
            // A backdating keeps the compromise recorded (cACompromise stays so).
            revocationReason: raised ? input.reason : ca.revocationReason,
            ...(dated ? { invalidityDate: dated } : {}),
            version: ca.version + 1,
            updatedAt: now,
          },
        );
        await tx.cas.countRevocation(ca.parentId!);
        tree = await countRevocationBelow(tx.cas, ca.id);
      }
      await tx.audit.insert(
        audit(
          raised || backdated
            ? updatedFields(
                {
                  revocationReason: ca.revocationReason,
                  invalidityDate: ca.invalidityDate ?? null,
                },
                {
                  revocationReason: raised ? input.reason : ca.revocationReason,
                  invalidityDate: dated,
                },
              )
            : undefined,
        ),
      );
      return raised || backdated ? ca : undefined;
    }
    await tx.cas.update(
      { id: ca.id },
      {
        revokedAt: now,
        revocationReason: input.reason,
        invalidityDate: invalidityDate ?? null,
        status: "DISABLED",
        version: ca.version + 1,
        updatedAt: now,
      },
    );
    await tx.cas.disableDescendants(ca.id, now);
    await tx.cas.countRevocation(ca.parentId!);
    tree = await countRevocationBelow(tx.cas, ca.id);
    await tx.audit.insert(
      audit(
        updatedFields(
          { revokedAt: null, revocationReason: null, invalidityDate: null, status: ca.status },
          {
            revokedAt: now,
            revocationReason: input.reason,
            invalidityDate: invalidityDate ?? null,
            status: "DISABLED",
          },
        ),
      ),
    );
    await lastAdmin.check((before) =>
      lastAdminCredential(
        `certificate_authorities/${ca.slug}`,
        `revoking certificate authority "${ca.slug}" (every client certificate below it stops authenticating)`,
        before,
      ),
    );
    return ca;
  });
  if (revoked) {
    const fingerprintSha256 = parseCertificate(revoked.certificatePem!).fingerprintSha256;
    deps.onCertificateRevoked?.({
      caId: revoked.parentId ?? null,
      fingerprintSha256,
      certificateAuthority: true,
    });
    // The revoked CA's own answers, and those of every CA below it, dropped at once here.
    for (const caId of tree) {
      deps.onCertificateRevoked?.({ caId, fingerprintSha256, certificateAuthority: true });
    }
  }
  return caView(
    stillThere(await deps.store.cas.find({ id: found.id }), {
      what: "certificate authority",
      ref: found.slug,
    }),
  );
}

/**
 * Counts a revocation against the CA and every CA below it (returns their ids): OCSP answers
 * `revoked` for everything they signed from now on (ocsp.ts underRevokedCa), and each
 * replica's cached answers of these CAs are compared with this count (and their cached CRLs,
 * which are only signed again). Until stop 43 of 2026-12-06 only the parent's count moved, and
 * cached `good` answers about the leaves of a revoked CA were served for their cache period.
 */
async function countRevocationBelow(
  cas: Pick<CaRepository, "find" | "countRevocation" | "childSlugs">,
  id: string,
): Promise<string[]> {
  const ids: string[] = [];
  const queue = [id];
  // A chain is a handful of CAs; the bound only guards against a cycle no parent_id can make.
  while (queue.length > 0 && ids.length < 1024) {
    const current = queue.shift()!;
    if (ids.includes(current)) continue;
    ids.push(current);
    await cas.countRevocation(current);
    for (const slug of await cas.childSlugs(current)) {
      const child = await cas.find({ slug });
      if (child) queue.push(child.id);
    }
  }
  return ids;
}

function refuseUnrevocable(ca: CertificateAuthority): void {
  if (ca.type === "INTERMEDIATE" && ca.parentId && ca.certificatePem) return;
  const root = ca.type === "ROOT";
  throw failedPrecondition(
    root ? "CA_IS_ROOT" : "CA_PARENT_EXTERNAL",
    root
      ? `certificate authority "${ca.slug}" is a root: no CRL can list a trust anchor; remove it from the trust stores and disable it with UpdateCertificateAuthority`
      : `certificate authority "${ca.slug}" was signed outside certmint: only that CA can list it on its CRL; disable it here with UpdateCertificateAuthority`,
    {
      preconditions: [
        {
          type: "CA_TYPE",
          subject: `certificate_authorities/${ca.slug}`,
          description: `type is ${ca.type}`,
        },
      ],
    },
  );
}

/**
 * Whether the CA or one above it was revoked (it must not be enabled again). Walks up the
 * parents: a chain is a handful of CAs at most.
 */
export async function revokedAbove(
  cas: Pick<CaRepository, "find">,
  ca: CertificateAuthority,
): Promise<CertificateAuthority | undefined> {
  let current: CertificateAuthority | null = ca;
  for (let depth = 0; current && depth < 32; depth++) {
    if (current.revokedAt) return current;
    current = current.parentId ? await cas.find({ id: current.parentId }) : null;
  }
  return undefined;
}

/**
 * Refuses (FAILED_PRECONDITION CA_REVOKED) to point something new at a CA that was revoked, or
 * one below a revoked CA: it signs nothing for good, so a profile on it could never issue and
 * a client certificate binding on it never authenticate. Found by the third outside probe of
 * 2026-12-05: both were accepted.
 */
export async function refuseRevokedCa(
  cas: Pick<CaRepository, "find">,
  ca: CertificateAuthority,
  what: string,
): Promise<void> {
  const revoked = await revokedAbove(cas, ca);
  if (!revoked) return;
  const below =
    revoked.id === ca.id ? "was revoked" : `is below "${revoked.slug}", which was revoked`;
  throw failedPrecondition(
    "CA_REVOKED",
    `certificate authority "${ca.slug}" ${below}: it signs nothing for good, so ${what} cannot use it; choose another CA`,
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: `certificate_authorities/${ca.slug}`,
          description: `revoked at ${revoked.revokedAt!.toISOString()}`,
        },
      ],
    },
  );
}
