import { failedPrecondition } from "../../errors";
import type { RevocationReason, SignatureAlgorithm } from "../../model/pki";
import { buildCrl } from "../../signer";
import { CertificateAuthorityEntity, CertificateEntity } from "../../store/entities";
import { findByRef } from "../common/refs";
import { caIssuer } from "./load";
import type { CaDeps } from "./types";

export interface SignedCrl {
  pem: string;
  der: Buffer;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The CA's revocation count read before the revoked serials: every one it counts is listed. */
  revocationCount: string;
}

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
  const leaves = await em.find(
    CertificateEntity,
    { caId: ca.id, revokedAt: { $ne: null }, notAfter: { $gt: thisUpdate } },
    { fields: ["serialNumber", "revokedAt", "revocationReason"], orderBy: { revokedAt: "asc" } },
  );
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
  const { pem, der } = await buildCrl({
    issuer: caIssuer(deps, ca),
    signatureAlgorithm: ca.signatureAlgorithm as SignatureAlgorithm,
    crlNumber,
    thisUpdate,
    nextUpdate,
    revoked,
  });
  return {
    pem,
    der,
    crlNumber,
    thisUpdate,
    nextUpdate,
    revocationCount: String(ca.revocationCount),
  };
}
