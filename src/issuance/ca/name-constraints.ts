import type { NameConstraints } from "../../model/pki";
import { hasNameConstraints, parseCertificate } from "../../signer";
import type { CertificateAuthorityView } from "../repositories";

/** Parsed once per CA certificate: CAs are few and their certificates never change. */
const cache = new Map<string, NameConstraints | null>();

/** The name constraints of a CA's certificate (RFC 5280 4.2.1.10), if it has any. */
export function nameConstraintsOf(
  ca: Pick<CertificateAuthorityView, "id" | "serialNumber" | "certificatePem">,
): NameConstraints | undefined {
  if (!ca.certificatePem) return undefined;
  const key = `${ca.id}:${ca.serialNumber}`;
  let nc = cache.get(key);
  if (nc === undefined) {
    const parsed = parseCertificate(ca.certificatePem).nameConstraints;
    nc = hasNameConstraints(parsed) ? parsed : null;
    cache.set(key, nc);
  }
  return nc ?? undefined;
}
