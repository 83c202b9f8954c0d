import { changeRecord } from "../audit/record";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import { type CertificateView, certificateView } from "../repositories";
import { certificateNamed, findCertificate } from "./find";
import { assertRevocationReason } from "./revocation-reason";
import type { RevokeInput } from "./types";

/**
 * Revokes a certificate with an RFC 5280 5.3.1 reason; its serial is in its CA's next CRL.
 * Revoking a revoked certificate changes nothing (the first time and reason stand). An
 * intermediate CA is revoked with RevokeCertificateAuthority (ca/revoke.ts).
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
  const now = deps.now();
  await deps.store.transaction(async (tx) => {
    const revoked = await tx.certificates.markRevoked(cert.id, input.reason, now);
    // Counted against the CA whose CRL lists it, in the revoking transaction: every replica's
    // published CRL compares this count with the one it was signed at (ca/publication.ts).
    if (revoked && cert.caId) await tx.cas.countRevocation(cert.caId);
    await tx.audit.insert(changeRecord(call, { type: "certificate", id: cert.id }, now));
  });
  deps.onCertificateRevoked?.({ caId: cert.caId, fingerprintSha256: cert.fingerprintSha256 });
  return certificateView(await certificateNamed(deps.store, cert.id));
}
