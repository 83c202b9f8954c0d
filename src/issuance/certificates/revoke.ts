import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { type CertificateView, certificateView } from "../repositories";
import { certificateNamed, findCertificate } from "./find";
import { assertRevocationReason } from "./revocation-reason";
import { sameKeyLineage } from "./same-key";
import type { RevokeInput } from "./types";

/**
 * Revokes a certificate with an RFC 5280 5.3.1 reason; its serial is in its CA's next CRL.
 * Revoking a revoked certificate changes nothing (the first time and reason stand). For
 * keyCompromise, every other certificate of its lineage with the same key is revoked with it,
 * in the same transaction, each with its own audit record (same-key.ts). An intermediate CA is
 * revoked with RevokeCertificateAuthority (ca/revoke.ts).
 */
export async function revoke(
  deps: IssuanceDeps,
  call: Call,
  input: RevokeInput,
): Promise<CertificateView> {
  assertRevocationReason(input.reason);
  const cert = await findCertificate(deps.store, input.certificate, "certificate", {
    caSerialHint: true,
  });
  const sameKey =
    input.reason === "KEY_COMPROMISE" ? await sameKeyLineage(deps.store.certificates, cert) : [];
  const now = deps.now();
  await deps.store.transaction(async (tx) => {
    for (const c of [cert, ...sameKey]) {
      const revoked = await tx.certificates.markRevoked(c.id, input.reason, now);
      // Counted against the CA whose CRL lists it, in the revoking transaction: every replica's
      // published CRL compares this count with the one it was signed at (ca/publication.ts).
      if (revoked && c.caId) await tx.cas.countRevocation(c.caId);
      // Only the certificate named, and those this call revoked: one revoked before keeps its
      // own record and reason.
      if (c === cert || revoked) {
        await tx.audit.insert(changeRecord(call, { type: "certificate", id: c.id }, now));
      }
    }
  });
  for (const c of [cert, ...sameKey]) {
    deps.onCertificateRevoked?.({ caId: c.caId, fingerprintSha256: c.fingerprintSha256 });
  }
  return certificateView(await certificateNamed(deps.store, cert.id));
}
