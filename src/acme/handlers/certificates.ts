import { createHash } from "node:crypto";
import { revoke } from "../../issuance/certificates/revoke";
import { REVOCATION_REASONS, type RevocationReason } from "../../model/pki";
import { parseCertificate } from "../../signer";
import { spkiThumbprint } from "../../signer/jws";
import { accountCall, actorCall } from "../acting";
import { type AcmeExchange, type AcmeResponse, requireAccount, takeRate } from "../http/exchange";
import { decodeB64url } from "../http/jws-request";
import { AcmeProblem, malformed, notFoundProblem, problemOfDomainError } from "../problem";
import { certificateOfCertId, suggestedWindow } from "../renewal-info";

/** RFC 9773 4.3: how long a client should wait before asking again (seconds). */
const RENEWAL_INFO_RETRY_SECONDS = 6 * 3600;

/**
 * Certificate download (RFC 8555 7.4.2): the certificate, then its chain up to the root, as
 * application/pem-certificate-chain, to the account whose order issued it.
 */
export async function getCertificate(x: AcmeExchange, id: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  await takeRate(x, `account:${account.id}`, x.ctx.readLimiter);
  const cert = /^[0-9a-f-]{36}$/.test(id) ? await x.ctx.store.certificates.findById(id) : null;
  // Another account's certificate is answered as a missing one, like its order.
  if (!cert || cert.profileId !== x.profile.id || cert.owner !== account.id) {
    throw notFoundProblem("certificate");
  }
  const pem = [cert.certificatePem, ...cert.chainPem].map((p) => `${p.trim()}\n`).join("");
  return { status: 200, pem };
}

/** Reasons an ACME client may give (RFC 8555 7.6; as Let's Encrypt: not CA or AA compromise, hold or removeFromCRL). */
const ACME_REASONS = new Set([0, 1, 3, 4, 5, 9]);

/**
 * revokeCert (RFC 8555 7.6), signed either by the account that holds the certificate (kid) or
 * by the certificate's own key (jwk). Revoked by the same use case as RevokeCertificate (CRL,
 * audit record), as that account or key.
 */
export async function revokeCertificate(x: AcmeExchange): Promise<AcmeResponse> {
  const request = await x.verify("either");
  const payload = (request.payload ?? {}) as Record<string, unknown>;
  if (typeof payload.certificate !== "string")
    throw malformed("certificate (base64url DER) is required");
  const der = decodeB64url(payload.certificate, "certificate");
  const code = payload.reason === undefined ? 0 : payload.reason;
  if (typeof code !== "number" || !ACME_REASONS.has(code)) {
    throw new AcmeProblem(
      "badRevocationReason",
      "reason must be one of 0, 1, 3, 4, 5, 9 (RFC 5280 5.3.1)",
    );
  }
  const reason = (Object.keys(REVOCATION_REASONS) as RevocationReason[]).find(
    (r) => REVOCATION_REASONS[r] === code,
  )!;
  const fingerprint = createHash("sha256").update(der).digest("hex");
  const parsed = parseIssued(der);
  const cert = await x.ctx.store.certificates.findIssued(parsed.serialHex, fingerprint);
  if (!cert || cert.profileId !== x.profile.id) throw notFoundProblem("certificate");
  if (cert.revokedAt) throw new AcmeProblem("alreadyRevoked", "the certificate is revoked already");
  const input = { certificate: cert.id, reason };
  try {
    if (request.account) {
      const account = requireAccount(request);
      await takeRate(x, `account:${account.id}`);
      if (cert.owner !== account.id) {
        throw new AcmeProblem("unauthorized", "the account does not hold this certificate", 403);
      }
      // An account proves no hold of the key: its keyCompromise blocks nothing (revoke.ts).
      await revoke(x.ctx.deps, accountCall(x, account, "revokeCert"), {
        ...input,
        keyCompromiseScope: "LINEAGE",
      });
    } else {
      const certKey = spkiThumbprint(parsed.publicKey);
      if (certKey !== request.key.thumbprint) {
        throw new AcmeProblem("unauthorized", "the JWS key is not the certificate's key", 403);
      }
      const actor = { id: cert.id, slug: `acme-certificate-key-${cert.serialNumber}` };
      await revoke(x.ctx.deps, actorCall(x, actor, "revokeCert"), input);
    }
  } catch (err) {
    throw problemOfDomainError(err);
  }
  x.ctx.logger.info({ certificate: cert.id, reason }, "ACME certificate revoked");
  return { status: 200 };
}

/** GET renewal-info/<certID> (RFC 9773 4.2): the suggested renewal window. */
export async function renewalInfo(x: AcmeExchange, certId: string): Promise<AcmeResponse> {
  const cert = await certificateOfCertId(x, certId);
  const window = suggestedWindow(cert, x.profile.renewBeforeDays, x.now);
  return {
    status: 200,
    body: { suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } },
    retryAfter: RENEWAL_INFO_RETRY_SECONDS,
  };
}

/** The certificate a revokeCert names; one that is not DER X.509 is malformed (RFC 8555 7.6). */
function parseIssued(der: Buffer): ReturnType<typeof parseCertificate> {
  try {
    return parseCertificate(der);
  } catch {
    throw malformed("certificate is not a DER X.509 certificate");
  }
}
