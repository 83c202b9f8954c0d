import type { EntityManager } from "@mikro-orm/postgresql";
import { CertmintError, failedPrecondition, invalidField } from "../../errors";
import { CertificateAuthorityEntity, type CertificateAuthorityRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { checkEtag } from "../common/etag";
import { findByRef } from "../common/refs";
import { revokedAbove } from "./revoke";
import type { CaDeps, UpdateCaInput } from "./types";

/** Enables or disables a CA, or changes its description; refuses stale etags (ABORTED). */
export async function updateCa(
  deps: CaDeps,
  input: UpdateCaInput,
): Promise<CertificateAuthorityRow> {
  const em = deps.orm.em.fork();
  const ca = await findByRef(
    em,
    CertificateAuthorityEntity,
    input.ca,
    "certificate authority",
    "certificate_authority.id",
  );
  checkEtag(input.etag, ca.version, `certificate authority "${ca.slug}"`);
  const changes: Partial<CertificateAuthorityRow> = {};
  if (input.status !== undefined) {
    if (input.status !== "ACTIVE" && input.status !== "DISABLED") {
      throw invalidField(
        "CA_STATUS_INVALID",
        "status can be set to ACTIVE or DISABLED only",
        "certificate_authority.status",
        "ACTIVE or DISABLED",
      );
    }
    if (ca.status === "PENDING_CERTIFICATE") {
      throw failedPrecondition(
        "CA_PENDING_CERTIFICATE",
        `certificate authority "${ca.slug}" has no certificate yet; import it first`,
      );
    }
    // Revocation is final: a revoked CA, or one below it, stays disabled.
    const revoked = input.status === "ACTIVE" ? await revokedAbove(em, ca) : undefined;
    if (revoked) {
      throw failedPrecondition(
        "CA_REVOKED",
        revoked.id === ca.id
          ? `certificate authority "${ca.slug}" was revoked and cannot be enabled again`
          : `certificate authority "${ca.slug}" is below the revoked CA "${revoked.slug}" and cannot be enabled again`,
        {
          preconditions: [
            {
              type: "CA_REVOKED",
              subject: `certificate_authorities/${revoked.slug}`,
              description: `revoked at ${revoked.revokedAt!.toISOString()}`,
            },
          ],
        },
      );
    }
    changes.status = input.status;
  }
  if (input.description !== undefined) changes.description = input.description;
  if (Object.keys(changes).length === 0) return ca;
  const now = deps.now();
  // The audit record commits with the change (issue 6).
  await em.transactional(async (tx: EntityManager) => {
    const updated = await tx.nativeUpdate(
      CertificateAuthorityEntity,
      { id: ca.id, version: ca.version },
      { ...changes, version: ca.version + 1, updatedAt: now },
    );
    if (updated === 0) {
      throw new CertmintError(
        "aborted",
        "CONCURRENT_UPDATE",
        `certificate authority "${ca.slug}" changed meanwhile; read it again and retry`,
      );
    }
    await recordAudit(tx, { type: "certificate_authority", id: ca.id }, now);
  });
  await em.refresh(ca);
  return ca;
}
