import { failedPrecondition } from "../../errors";
import type { RevocationReason, SignatureAlgorithm } from "../../model/pki";
import { buildCrl } from "../../signer";
import { CertificateAuthorityEntity } from "../../store/entities";
import { findByRef } from "../common/refs";
import { caIssuer } from "./load";
import type { CaDeps } from "./types";

export interface SignedCrl {
  der: Buffer;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The CA's revocation count read before the revoked serials: every one it counts is listed. */
  revocationCount: string;
}

/** The revoked, unexpired certificates a CA issued: (CA id, thisUpdate). */
export const CRL_ENTRIES_SQL = `select "serial_number", extract(epoch from "revoked_at")::float8 as "revoked_epoch", "revocation_reason"
  from "certificate" where "ca_id" = ? and "revoked_at" is not null and "not_after" > ?
  order by "revoked_at"`;

/**
 * Signs a fresh X.509 v2 CRL of the CA (RFC 5280 5): every revoked certificate it issued that
 * has not expired, and every revoked intermediate CA it signed, with its reason. The cRLNumber
 * is taken atomically from the CA row, so it only ever grows (5.2.3). A DISABLED (or revoked)
 * CA still publishes its CRL.
 */
export async function currentCrl(deps: CaDeps, ref: string): Promise<SignedCrl> {
  const em = deps.orm.em.fork();
  const ca = await findByRef(
    em,
    CertificateAuthorityEntity,
    ref,
    "certificate authority",
    "certificate_authority",
  );
  if (!ca.certificatePem) {
    throw failedPrecondition(
      "CA_PENDING_CERTIFICATE",
      `certificate authority "${ca.slug}" has no certificate yet, so no CRL`,
    );
  }
  const thisUpdate = deps.now();
  const nextUpdate = new Date(thisUpdate.getTime() + deps.crlValiditySeconds * 1000);
  const rows = await em
    .getConnection()
    .execute<Array<{ crl_number: string }>>(
      `update "certificate_authority" set "crl_number" = "crl_number" + 1 where "id" = ? returning "crl_number"`,
      [ca.id],
    );
  const crlNumber = BigInt(rows[0]!.crl_number);
  // Plain rows, not entities: a CRL may list 10^5 certificates (issue 14). Served from the
  // index alone (certificate_crl_entries_index); the time as epoch seconds, a float8 that
  // arrives as a number.
  const leaves = (
    await em
      .getConnection()
      .execute<
        Array<{ serial_number: string; revoked_epoch: number; revocation_reason: string | null }>
      >(
        `select "serial_number", extract(epoch from "revoked_at")::float8 as "revoked_epoch", "revocation_reason"
         from "certificate" where "ca_id" = ? and "revoked_at" is not null and "not_after" > ?
        order by "revoked_at"`,
        [ca.id, thisUpdate],
      )
  ).map((r) => ({
    serialNumber: r.serial_number,
    revokedAt: new Date(r.revoked_epoch * 1000),
    revocationReason: r.revocation_reason,
  }));
  const subordinates = await em.find(
    CertificateAuthorityEntity,
    { parentId: ca.id, revokedAt: { $ne: null }, notAfter: { $gt: thisUpdate } },
    { fields: ["serialNumber", "revokedAt", "revocationReason"], orderBy: { revokedAt: "asc" } },
  );
  const revoked = [...leaves, ...subordinates]
    .map((c) => ({
      serial: c.serialNumber!,
      revokedAt: c.revokedAt!,
      reason: (c.revocationReason ?? "UNSPECIFIED") as RevocationReason,
    }))
    .sort((a, b) => a.revokedAt.getTime() - b.revokedAt.getTime());
  const { der } = await buildCrl({
    issuer: caIssuer(deps, ca),
    signatureAlgorithm: ca.signatureAlgorithm as SignatureAlgorithm,
    crlNumber,
    thisUpdate,
    nextUpdate,
    revoked,
  });
  return {
    der,
    crlNumber,
    thisUpdate,
    nextUpdate,
    revocationCount: String(ca.revocationCount),
  };
}
