import { failedPrecondition } from "../../errors";
import { Issuer } from "../../signer";
import type { CertificateAuthority } from "../repositories";
import type { CaKeyring } from "./keyring";

/** A CA signs only while ACTIVE (a revoked, DISABLED or PENDING_CERTIFICATE CA signs nothing). */
export function requireActive(
  ca: Pick<CertificateAuthority, "slug" | "status" | "revokedAt" | "certificatePem">,
): void {
  if (ca.revokedAt) {
    throw failedPrecondition(
      "CA_REVOKED",
      `certificate authority "${ca.slug}" was revoked; it signs nothing`,
      {
        preconditions: [
          {
            type: "CA_STATUS",
            subject: `certificate_authorities/${ca.slug}`,
            description: `revoked at ${ca.revokedAt.toISOString()}`,
          },
        ],
      },
    );
  }
  if (ca.status !== "ACTIVE" || !ca.certificatePem) {
    throw failedPrecondition(
      ca.status === "DISABLED" ? "CA_DISABLED" : "CA_PENDING_CERTIFICATE",
      ca.status === "DISABLED"
        ? `certificate authority "${ca.slug}" is disabled; enable it with UpdateCertificateAuthority`
        : `certificate authority "${ca.slug}" has no certificate yet; import it with ImportCertificateAuthorityCertificate`,
      {
        preconditions: [
          {
            type: "CA_STATUS",
            subject: `certificate_authorities/${ca.slug}`,
            description: `status is ${ca.status}`,
          },
        ],
      },
    );
  }
}

type Keyring = Pick<CaKeyring, "signerFor">;
const issuers = new WeakMap<Keyring, Map<string, Issuer>>();

/**
 * The Issuer (name, key identifier, signer) of a CA with a certificate, built once per CA and
 * keyring, and kept: the CA certificate is parsed once, not per request.
 */
export function caIssuer(deps: { keyring: Keyring }, ca: CertificateAuthority): Issuer {
  let cache = issuers.get(deps.keyring);
  if (!cache) {
    cache = new Map();
    issuers.set(deps.keyring, cache);
  }
  const key = `${ca.id}:${ca.serialNumber}`;
  let issuer = cache.get(key);
  if (!issuer) {
    issuer = Issuer.from({
      signer: deps.keyring.signerFor(ca),
      certificate: ca.certificatePem!,
      chain: ca.chainPem,
    });
    cache.set(key, issuer);
  }
  return issuer;
}

/**
 * The end of every path through a CA with a certificate: the earliest notAfter of its
 * certificate and of the chain above it (an outside chain may end first). Past it nothing the
 * CA signs validates (RFC 5280 6.1.3 (a)(2)), so its CRLs and OCSP responses promise nothing
 * later (until stop 41 of 2026-12-06 they were capped at the CA's own notAfter only).
 */
export function caPathEnd(
  deps: { keyring: Keyring },
  ca: CertificateAuthority,
): { notBefore: Date | null; notAfter: Date | null } {
  if (!ca.certificatePem) return { notBefore: ca.notBefore, notAfter: ca.notAfter };
  const issuer = caIssuer(deps, ca);
  return {
    notBefore: issuer.pathNotBefore ?? ca.notBefore,
    notAfter: issuer.pathNotAfter ?? ca.notAfter,
  };
}
