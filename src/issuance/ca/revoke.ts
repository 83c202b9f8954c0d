import type { EntityManager } from "@mikro-orm/postgresql";
import { failedPrecondition } from "../../errors";
import type { RevocationReason } from "../../model/pki";
import { parseCertificate } from "../../signer";
import { CertificateAuthorityEntity, type CertificateAuthorityRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { assertRevocationReason, countRevocation } from "../certificates/revoke";
import { findByRef } from "../common/refs";
import { lockRow } from "../common/row-lock";
import type { CaDeps } from "./types";

export interface RevokeCaInput {
  /** The CA, by id or slug. */
  ca: string;
  reason: RevocationReason;
}

/**
 * Revokes an intermediate CA signed by a CA here (RFC 5280 5.3.1 reason): its serial goes on
 * its parent's CRL (ca/crl.ts), so relying parties that check CRLs refuse everything below it
 * (`openssl verify -crl_check_all`); the CA and every CA below it are DISABLED in the same
 * transaction and sign nothing more, while their own CRLs are still served. Final: a revoked
 * CA (or one below it) is never enabled again. Revoking a revoked CA changes nothing.
 *
 * Refused (FAILED_PRECONDITION) for
 *  - a root: a trust anchor is not validated against any CRL (RFC 5280 6.1: the path starts
 *    below it), and no issuer exists to list it; remove it from the trust stores and disable
 *    it instead;
 *  - an external intermediate: its parent is outside, and only that CA can list it on its CRL
 *    (ask its operator); disable it here with UpdateCertificateAuthority.
 */
export async function revokeCa(
  deps: CaDeps,
  input: RevokeCaInput,
): Promise<CertificateAuthorityRow> {
  assertRevocationReason(input.reason);
  const em = deps.orm.em.fork();
  const found = await findByRef(
    em,
    CertificateAuthorityEntity,
    input.ca,
    "certificate authority",
    "certificate_authority",
  );
  const now = deps.now();
  const revoked = await em.transactional(async (tx: EntityManager) => {
    const ca = await lockRow(tx, CertificateAuthorityEntity, found.id, "update");
    refuseUnrevocable(ca);
    if (ca.revokedAt) {
      await recordAudit(tx, { type: "certificate_authority", id: ca.id }, now);
      return undefined;
    }
    await tx.nativeUpdate(
      CertificateAuthorityEntity,
      { id: ca.id },
      {
        revokedAt: now,
        revocationReason: input.reason,
        status: "DISABLED",
        version: ca.version + 1,
        updatedAt: now,
      },
    );
    await disableDescendants(tx, ca.id, now);
    await countRevocation(tx, ca.parentId!);
    await recordAudit(tx, { type: "certificate_authority", id: ca.id }, now);
    return ca;
  });
  if (revoked) {
    deps.onCertificateRevoked?.({
      caId: revoked.parentId ?? null,
      fingerprintSha256: parseCertificate(revoked.certificatePem!).fingerprintSha256,
      certificateAuthority: true,
    });
  }
  return em.findOneOrFail(CertificateAuthorityEntity, { id: found.id }, { refresh: true });
}

function refuseUnrevocable(ca: CertificateAuthorityRow): void {
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

/** Every CA below `caId` that is still ACTIVE becomes DISABLED: nothing it signs would validate. */
async function disableDescendants(tx: EntityManager, caId: string, now: Date): Promise<void> {
  await tx.getConnection().execute(
    `with recursive below as (
         select "id" from "certificate_authority" where "parent_id" = ?
         union all
         select c."id" from "certificate_authority" c join below b on c."parent_id" = b."id")
     update "certificate_authority" set "status" = 'DISABLED', "version" = "version" + 1, "updated_at" = ?
      where "id" in (select "id" from below) and "status" = 'ACTIVE'`,
    [caId, now],
    "run",
    tx.getTransactionContext(),
  );
}

/**
 * Whether the CA or one above it was revoked (it must not be enabled again). Walks up the
 * parents: a chain is a handful of CAs at most.
 */
export async function revokedAbove(
  em: EntityManager,
  ca: CertificateAuthorityRow,
): Promise<CertificateAuthorityRow | undefined> {
  let current: CertificateAuthorityRow | null = ca;
  for (let depth = 0; current && depth < 32; depth++) {
    if (current.revokedAt) return current;
    current = current.parentId
      ? await em.findOne(CertificateAuthorityEntity, { id: current.parentId })
      : null;
  }
  return undefined;
}
