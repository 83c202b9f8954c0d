import { createHash } from "node:crypto";
import { revoke } from "../../issuance/certificates/revoke";
import { isUuid } from "../../issuance/common/refs";
import type { AccountRow } from "../../issuance/repositories";
import { REVOCATION_REASONS, type RevocationReason } from "../../model/pki";
import { canonicalIp, parseCertificate } from "../../signer";
import { spkiThumbprint } from "../../signer/jws";
import { accountCall, actorCall } from "../acting";
import {
  type AcmeExchange,
  type AcmeResponse,
  requireAccount,
  requireEmptyPayload,
  takeRate,
} from "../http/exchange";
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
  requireEmptyPayload(request, "a certificate");
  await takeRate(x, `account:${account.id}`, x.ctx.readLimiter);
  // Only a UUID may reach the uuid column: "-" x 36 passed the former /^[0-9a-f-]{36}$/.
  const cert = isUuid(id) ? await x.ctx.store.certificates.findById(id) : null;
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
 * revokeCert (RFC 8555 7.6), signed by the account that holds the certificate (kid), by an
 * account that holds valid authorizations for all of its names (kid; requireAuthorizationsFor),
 * or by the certificate's own key (jwk). Revoked by the same use case as RevokeCertificate
 * (CRL, audit record), as that account or key.
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
      if (cert.owner === account.id) {
        // An account proves no hold of the key: its keyCompromise blocks nothing (revoke.ts).
        await revoke(x.ctx.deps, accountCall(x, account, "revokeCert"), {
          ...input,
          keyCompromiseScope: "LINEAGE",
        });
      } else {
        await requireAuthorizationsFor(x, account, parsed);
        // Another account that proves control of every name (RFC 8555 7.6), as Boulder's
        // RevokeCertByApplicant: the reason is cessationOfOperation whatever it asked (CA/B BR
        // 7.2.2: the subscriber no longer controls the names), so this certificate alone is
        // revoked: it proves no hold of the key (no block, no other certificate of the key)
        // nor any say over the holder's other certificates (not even their lineage).
        await revoke(x.ctx.deps, accountCall(x, account, "revokeCert"), {
          certificate: cert.id,
          reason: "CESSATION_OF_OPERATION",
        });
      }
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

/**
 * RFC 8555 7.6: an account that "holds authorizations for all of the identifiers in the
 * certificate" may revoke it: a valid, unexpired authorization of this account for each DNS
 * name (a wildcard one for *.name) and IP address, and a common name among them. Anything else
 * is 403 unauthorized, naming the identifiers it lacks. Until 2026-12-05 only the account
 * that holds the certificate could.
 */
async function requireAuthorizationsFor(
  x: AcmeExchange,
  account: AccountRow,
  parsed: ReturnType<typeof parseCertificate>,
): Promise<void> {
  const { sans } = parsed;
  const wanted = [
    ...sans.dns.map((d) => d.toLowerCase().replace(/\.$/, "")).map((d) => `dns:${d}`),
    ...sans.ip.map((ip) => `ip:${canonicalIp(ip) ?? ip}`),
  ];
  const cn = parsed.subject?.attributes.find((a) => a.type === "COMMON_NAME")?.value;
  const cnCovered =
    cn === undefined || wanted.includes(`dns:${cn.toLowerCase()}`) || wanted.includes(`ip:${cn}`);
  if (wanted.length === 0 || sans.email.length > 0 || sans.uri.length > 0 || !cnCovered) {
    throw new AcmeProblem(
      "unauthorized",
      "the account does not hold this certificate, and its names are not all DNS names and IP addresses an authorization could cover",
      403,
    );
  }
  const values = [...new Set(wanted.map((w) => w.slice(w.indexOf(":") + 1).replace(/^\*\./, "")))];
  const held = new Set(
    (await x.ctx.store.acme.validAuthorizationsFor(account.id, values, x.now)).map(
      (a) => `${a.identifier_type}:${a.wildcard ? "*." : ""}${a.identifier_value}`,
    ),
  );
  const missing = [...new Set(wanted)].filter((w) => !held.has(w));
  if (missing.length > 0) {
    throw new AcmeProblem(
      "unauthorized",
      `the account does not hold this certificate, nor valid authorizations for all of its names (RFC 8555 7.6); missing: ${missing.join(", ")}`,
      403,
    );
  }
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
