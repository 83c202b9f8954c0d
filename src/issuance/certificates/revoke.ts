import type { EntityManager } from "@mikro-orm/postgresql";
import { invalidField, notFound } from "../../errors";
import {
  CertificateAuthorityEntity,
  CertificateEntity,
  type CertificateRow,
} from "../../store/entities";
import { recordAudit } from "../audit/record";
import { isUuid } from "../common/refs";
import type { IssuanceDeps } from "../deps";
import { assertRevocationReason } from "./revocation-reason";
import type { RevokeInput } from "./types";

/**
 * Revokes a certificate with an RFC 5280 5.3.1 reason; its serial is in its CA's next CRL.
 * Revoking a revoked certificate changes nothing (the first time and reason stand). An
 * intermediate CA is revoked with RevokeCertificateAuthority (ca/revoke.ts).
 */
export async function revoke(deps: IssuanceDeps, input: RevokeInput): Promise<CertificateRow> {
  assertRevocationReason(input.reason);
  const em = deps.orm.em.fork();
  const cert = await findCertificate(em, input.certificate, "certificate", {
    caSerialHint: true,
  });
  await em.transactional(async (tx: EntityManager) => {
    const revoked = await tx.nativeUpdate(
      CertificateEntity,
      { id: cert.id, revokedAt: null },
      { revokedAt: deps.now(), revocationReason: input.reason },
    );
    if (revoked === 1 && cert.caId) await countRevocation(tx, cert.caId);
    await recordAudit(tx, { type: "certificate", id: cert.id });
  });
  deps.onCertificateRevoked?.({
    caId: cert.caId ?? null,
    fingerprintSha256: cert.fingerprintSha256,
  });
  return em.findOneOrFail(CertificateEntity, { id: cert.id }, { refresh: true });
}

/**
 * Counts a revocation against the CA whose CRL lists it, in the revoking transaction: every
 * replica's published CRL compares this count with the one it was signed at (ca/publication.ts).
 */
export async function countRevocation(tx: EntityManager, caId: string): Promise<void> {
  await tx
    .getConnection()
    .execute(
      `update "certificate_authority" set "revocation_count" = "revocation_count" + 1 where "id" = ?`,
      [caId],
      "run",
      tx.getTransactionContext(),
    );
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
  options: { caSerialHint?: boolean } = {},
): Promise<CertificateRow> {
  const trimmed = ref.trim();
  let rows: CertificateRow[];
  if (isUuid(trimmed)) {
    rows = await em.find(CertificateEntity, { id: trimmed.toLowerCase() });
  } else {
    const serial = normalizeSerial(trimmed);
    if (!serial) {
      throw invalidField(
        "CERTIFICATE_REFERENCE_INVALID",
        `${field} must be a certificate id (UUID) or a hex serial number`,
        field,
        "neither a UUID nor a hex serial",
      );
    }
    rows = await em.find(CertificateEntity, { serialNumber: serial }, { limit: 2 });
    if (rows.length > 1) {
      throw invalidField(
        "SERIAL_AMBIGUOUS",
        `serial ${serial} was issued by more than one CA; use the certificate id`,
        field,
        "ambiguous serial",
      );
    }
  }
  if (!rows[0]) {
    if (options.caSerialHint) await refuseCaSerial(em, trimmed, field);
    throw notFound("CERTIFICATE_NOT_FOUND", `no certificate "${trimmed}"`);
  }
  return rows[0];
}

/** A CA certificate's serial names no leaf: INVALID_ARGUMENT pointing at the RPC that revokes CAs. */
async function refuseCaSerial(em: EntityManager, ref: string, field: string): Promise<void> {
  const serial = normalizeSerial(ref);
  if (!serial) return;
  const ca = await em.findOne(
    CertificateAuthorityEntity,
    { serialNumber: serial },
    { fields: ["slug"] },
  );
  if (!ca) return;
  throw invalidField(
    "CERTIFICATE_IS_CERTIFICATE_AUTHORITY",
    `serial ${serial} is the certificate of certificate authority "${ca.slug}": revoke it with CertificateAuthorityService.RevokeCertificateAuthority`,
    field,
    "names a CA certificate",
  );
}
