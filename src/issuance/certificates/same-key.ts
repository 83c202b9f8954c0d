import type { KeyObject } from "node:crypto";
import { parseCertificate } from "../../signer/parse-certificate";
import type { Certificate, CertificateRepository } from "../repositories";

/** How far sameKeyLineage walks each way; a lineage renewed daily for years stays inside it. */
const MAX_STEPS = 10_000;

/**
 * The other certificates of `cert`'s lineage that certify the same public key: its renewals that
 * kept the key (RENEWAL_KEY_SOURCE_REUSE, or a CSR of the same key), before and after it, as
 * far as the key stays the same. A key compromise (RFC 5280 5.3.1 keyCompromise) is the key's,
 * not one certificate's: revoking only the certificate named (until 2026-12-05) left its
 * predecessor with the same key valid, and still a client credential over mTLS.
 */
export async function sameKeyLineage(
  certificates: Pick<CertificateRepository, "findById">,
  cert: Certificate,
): Promise<Certificate[]> {
  const key = publicKeyOf(cert);
  if (!key) return [];
  const found: Certificate[] = [];
  for (const next of ["renewedFromId", "renewedById"] as const) {
    let id = cert[next];
    for (let step = 0; id && step < MAX_STEPS; step++) {
      const other = await certificates.findById(id);
      if (!other) break;
      const otherKey = publicKeyOf(other);
      if (!otherKey?.equals(key)) break;
      found.push(other);
      id = other[next];
    }
  }
  return found;
}

/** The certified key, or undefined for a stored certificate that does not parse (none should). */
function publicKeyOf(cert: Certificate): KeyObject | undefined {
  try {
    return parseCertificate(cert.certificatePem).publicKey;
  } catch {
    return undefined;
  }
}
