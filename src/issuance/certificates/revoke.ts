import type { EntityManager } from "@mikro-orm/postgresql";
import { invalidArgument, notFound } from "../../errors";
import { CertificateEntity, type CertificateRow } from "../../store/entities";
import { recordAudit } from "../audit/record";
import { isUuid } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import type { RevokeInput } from "./types";

/**
 * Revokes a certificate with an RFC 5280 5.3.1 reason; its serial is in its CA's next CRL.
 * Revoking a revoked certificate changes nothing (the first time and reason stand).
 */
export async function revoke(deps: IssuanceDeps, input: RevokeInput): Promise<CertificateRow> {
  if (input.reason === "REMOVE_FROM_CRL") {
    throw invalidArgument(
      "REVOCATION_REASON_INVALID",
      "removeFromCRL is only for delta CRLs (RFC 5280 5.3.1); choose another reason",
      {
        violations: [
          {
            field: "reason",
            description: "REMOVE_FROM_CRL is not accepted",
            reason: "REVOCATION_REASON_INVALID",
          },
        ],
      },
    );
  }
  const em = deps.orm.em.fork();
  const cert = await findCertificate(em, input.certificate, "certificate");
  await em.transactional(async (tx: EntityManager) => {
    await tx.nativeUpdate(
      CertificateEntity,
      { id: cert.id, revokedAt: null },
      { revokedAt: deps.now(), revocationReason: input.reason },
    );
    await recordAudit(tx, { type: "certificate", id: cert.id });
  });
  deps.onCertificateRevoked?.({
    caId: cert.caId ?? null,
    fingerprintSha256: cert.fingerprintSha256,
  });
  return em.findOneOrFail(CertificateEntity, { id: cert.id }, { refresh: true });
}

/** Serial numbers are written as hex, with or without colons, any case. */
export function normalizeSerial(s: string): string | undefined {
  const hex = s.trim().replace(/:/g, "").toLowerCase();
  // Whole octets only: certmint writes serials as even-length hex (17 bytes).
  return /^(?:[0-9a-f]{2}){1,20}$/.test(hex) ? hex : undefined;
}

/** A certificate by id (UUID) or serial number (unique enough: 128 random bits per serial). */
export async function findCertificate(
  em: EntityManager,
  ref: string,
  field: string,
): Promise<CertificateRow> {
  const trimmed = ref.trim();
  let rows: CertificateRow[];
  if (isUuid(trimmed)) {
    rows = await em.find(CertificateEntity, { id: trimmed.toLowerCase() });
  } else {
    const serial = normalizeSerial(trimmed);
    if (!serial) {
      throw invalidArgument(
        "CERTIFICATE_REFERENCE_INVALID",
        `${field} must be a certificate id (UUID) or a hex serial number`,
        {
          violations: [
            {
              field,
              description: "neither a UUID nor a hex serial",
              reason: "CERTIFICATE_REFERENCE_INVALID",
            },
          ],
        },
      );
    }
    rows = await em.find(CertificateEntity, { serialNumber: serial }, { limit: 2 });
    if (rows.length > 1) {
      throw invalidArgument(
        "SERIAL_AMBIGUOUS",
        `serial ${serial} was issued by more than one CA; use the certificate id`,
        {
          violations: [{ field, description: "ambiguous serial", reason: "SERIAL_AMBIGUOUS" }],
        },
      );
    }
  }
  if (!rows[0]) throw notFound("CERTIFICATE_NOT_FOUND", `no certificate "${trimmed}"`);
  return rows[0];
}
