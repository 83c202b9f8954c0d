import { failedPrecondition } from "../../errors";
import { changeTransaction } from "../access-tokens/caller";
import { updatedFields } from "../audit/changes";
import { changeRecord } from "../audit/record";
import { revokedAbove } from "../ca/revoke";
import type { Call } from "../call";
import type { IssuanceDeps } from "../deps";
import {
  type CaRepository,
  type Certificate,
  type CertificateView,
  certificateView,
} from "../repositories";
import { certificateNamed, findCertificate } from "./find";

/** The certificate's state, as a refused release's PreconditionFailure names it. */
const certificateState = (id: string, description: string) => ({
  type: "CERTIFICATE_STATE",
  subject: `certificates/${id}`,
  description,
});

function notOnHold(cert: Pick<Certificate, "id" | "revokedAt" | "revocationReason">) {
  const state = cert.revokedAt ? `revoked (${cert.revocationReason})` : "not revoked";
  return failedPrecondition(
    "CERTIFICATE_NOT_ON_HOLD",
    `certificate ${cert.id} is ${state}: only a certificate revoked with CERTIFICATE_HOLD can be released (RFC 5280 5.3.1)`,
    { preconditions: [certificateState(cert.id, state)] },
  );
}

/**
 * Refuses (FAILED_PRECONDITION ISSUER_REVOKED) to release a hold under a revoked CA: the
 * issuing CA, or a CA above it, was revoked (RevokeCertificateAuthority), so the certificate
 * is signed by a key no relying party may trust again (for keyCompromise, anyone's key), and
 * OCSP answers revoked for it whatever its own row says (ca/ocsp.ts). Until stop 43 of
 * 2026-12-06 the release went through: the CA's CRL dropped the entry and OCSP, signed with the
 * compromised key, answered good (an outside probe).
 */
async function refuseUnderRevokedCa(
  cas: Pick<CaRepository, "find">,
  cert: Pick<Certificate, "id" | "caId">,
): Promise<void> {
  if (!cert.caId) return;
  const issuer = await cas.find({ id: cert.caId });
  const revoked = issuer && (await revokedAbove(cas, issuer));
  if (!issuer || !revoked) return;
  const which =
    revoked.id === issuer.id
      ? `its issuing certificate authority "${revoked.slug}"`
      : `certificate authority "${revoked.slug}", above its issuer "${issuer.slug}",`;
  throw failedPrecondition(
    "ISSUER_REVOKED",
    `certificate ${cert.id} stays revoked: ${which} was revoked (${revoked.revocationReason}) at ${revoked.revokedAt!.toISOString()}, so nothing it signed is valid again`,
    {
      preconditions: [
        {
          type: "CA_STATUS",
          subject: `certificate_authorities/${revoked.slug}`,
          description: `revoked at ${revoked.revokedAt!.toISOString()} (${revoked.revocationReason})`,
        },
      ],
    },
  );
}

/**
 * Releases a certificate on hold: certificateHold is the one reversible reason of RFC 5280
 * 5.3.1, and a hold is released as EJBCA and AD CS ("unrevoke") do. The certificate is valid
 * again: its CA's next full CRL leaves it out (an entry is simply dropped from a full CRL;
 * removeFromCRL is for delta CRLs, which certmint does not sign), OCSP answers good, watchers
 * get a HOLD_RELEASED event (a trigger, Migration20261206100000HoldRelease), and an audit
 * record names who released it, in the same transaction.
 *
 * Refused, changing nothing: a certificate not revoked, or revoked for another reason (a hold
 * made final by a later revocation, revoke.ts), FAILED_PRECONDITION CERTIFICATE_NOT_ON_HOLD;
 * one whose key is blocked (revoked for key compromise, blocked-keys.ts), FAILED_PRECONDITION
 * KEY_BLOCKED: its key is compromised whatever its own reason says; one whose issuing CA, or a
 * CA above it, was revoked, FAILED_PRECONDITION ISSUER_REVOKED (refuseUnderRevokedCa; checked
 * again in the releasing transaction, so a CA revocation committed since the first read wins).
 *
 * The CA's revocation count is bumped as a revocation bumps it: every replica's published CRL
 * and OCSP answers compare it with the one they were made at (ca/publication.ts, ca/ocsp.ts),
 * and onCertificateRevoked drops this process's caches and tells the other processes
 * (store/credential-changes.ts), so none keeps serving the revoked status after the release.
 */
export async function releaseHold(
  deps: IssuanceDeps,
  call: Call,
  ref: string,
): Promise<CertificateView> {
  // A CA is never on hold (ca/revoke.ts refuses CERTIFICATE_HOLD): its serial is NOT_FOUND here.
  const cert = await findCertificate(deps.store, ref, "certificate");
  if (!cert.revokedAt || cert.revocationReason !== "CERTIFICATE_HOLD") throw notOnHold(cert);
  if (cert.spkiSha256 && (await deps.store.certificates.isKeyBlocked(cert.spkiSha256))) {
    throw failedPrecondition(
      "KEY_BLOCKED",
      `certificate ${cert.id} certifies a key revoked for key compromise; it stays revoked`,
      { preconditions: [certificateState(cert.id, "its key is blocked (key compromise)")] },
    );
  }
  await refuseUnderRevokedCa(deps.store.cas, cert);
  const now = deps.now();
  await changeTransaction(deps, { call }, async (tx) => {
    // A CA revocation committed since the read above: the certificate stays revoked. One that
    // commits after this statement orders after the release, and OCSP then answers revoked
    // for the certificate from its CA's revocation (ca/ocsp.ts) all the same.
    await refuseUnderRevokedCa(tx.cas, cert);
    // Conditional on the hold, under the row's lock: a revocation for good (or a key block)
    // that committed since the read above wins, and this changes nothing.
    if (!(await tx.certificates.releaseHold(cert.id))) {
      throw notOnHold((await tx.certificates.findById(cert.id)) ?? cert);
    }
    if (cert.caId) await tx.cas.countRevocation(cert.caId);
    await tx.audit.insert(
      changeRecord(
        call,
        { type: "certificate", id: cert.id },
        now,
        undefined,
        updatedFields(
          { revokedAt: cert.revokedAt, revocationReason: "CERTIFICATE_HOLD" },
          { revokedAt: null, revocationReason: null },
        ),
      ),
    );
  });
  deps.onCertificateRevoked?.({
    caId: cert.caId,
    fingerprintSha256: cert.fingerprintSha256,
    certificateAuthority: cert.isCa,
  });
  return certificateView(await certificateNamed(deps.store, cert.id));
}
