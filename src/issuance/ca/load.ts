import { failedPrecondition } from "../../errors";
import { Issuer } from "../../signer";
import type { CaRepository, CertificateAuthority } from "../repositories";
import type { CaKeyring } from "./keyring";
import { revokedAbove } from "./revoke";

/** The revoked CA above a CA (noteRevokedAbove), as a refusal names it. */
interface RevokedAncestor {
  slug: string;
  revokedAt: Date;
  revocationReason: string | null;
}

/**
 * CAs below a revoked CA, by id, with that CA. Revocation is final and a CA's parents never
 * change, so an entry never goes stale; there are as many as CAs below revoked ones.
 */
const belowRevoked = new Map<string, RevokedAncestor>();

/**
 * Looks, for a DISABLED CA, for a revoked CA above it (revoke.ts disables every CA below a
 * revoked one), so that requireActive (synchronous, called from every issuance path) can name
 * it. Every path that loads an issuing CA calls this first (profiles/load.ts, create-
 * intermediate.ts); an ACTIVE CA costs nothing. Until stop 44 of 2026-12-06 issuing under such
 * a CA answered "is disabled; enable it with UpdateCertificateAuthority", and enabling it was
 * then refused CA_REVOKED (an outside probe, E F4).
 */
export async function noteRevokedAbove(
  cas: Pick<CaRepository, "find">,
  ca: CertificateAuthority,
): Promise<void> {
  if (ca.status !== "DISABLED" || ca.revokedAt || !ca.parentId || belowRevoked.has(ca.id)) return;
  const revoked = await revokedAbove(cas, ca);
  if (revoked?.revokedAt) {
    belowRevoked.set(ca.id, {
      slug: revoked.slug,
      revokedAt: revoked.revokedAt,
      revocationReason: revoked.revocationReason,
    });
  }
}

/**
 * noteRevokedAbove with the walk done by `revokedAboveOf` (one statement: LockedRequest
 * revokedAbove, on the connection that holds a request's lock, where the CA repository's reads
 * would wait for a second connection the embedded database does not have).
 */
export async function noteRevokedAboveWith(
  revokedAboveOf: (caId: string) => Promise<RevokedAncestor | null>,
  ca: Pick<CertificateAuthority, "id" | "status" | "revokedAt" | "parentId">,
): Promise<void> {
  if (ca.status !== "DISABLED" || ca.revokedAt || !ca.parentId || belowRevoked.has(ca.id)) return;
  const revoked = await revokedAboveOf(ca.id);
  if (revoked) belowRevoked.set(ca.id, revoked);
}

/**
 * A CA signs only while ACTIVE (a revoked, DISABLED or PENDING_CERTIFICATE CA signs nothing).
 * A CA below a revoked CA (noteRevokedAbove) is refused CA_REVOKED naming that CA, as enabling
 * it is (update.ts): it can never sign again, so "enable it" would be false advice.
 */
export function requireActive(
  ca: Pick<CertificateAuthority, "slug" | "status" | "revokedAt" | "certificatePem"> & {
    id?: string;
  },
): void {
  const above = !ca.revokedAt && ca.id !== undefined ? belowRevoked.get(ca.id) : undefined;
  if (above) {
    const reason = above.revocationReason ? ` (${above.revocationReason})` : "";
    throw failedPrecondition(
      "CA_REVOKED",
      `certificate authority "${ca.slug}" is below the revoked CA "${above.slug}", revoked at ${above.revokedAt.toISOString()}${reason}: it signs nothing, and cannot be enabled again; use another CA`,
      {
        preconditions: [
          {
            type: "CA_REVOKED",
            subject: `certificate_authorities/${above.slug}`,
            description: `revoked at ${above.revokedAt.toISOString()}${reason}`,
          },
        ],
      },
    );
  }
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
