import type { AccountRow, Certificate } from "../issuance/repositories";
import { canonicalIp, parseCertificate, serialToHex } from "../signer";
import type { AcmeExchange } from "./http/exchange";
import { type AcmeIdentifier, AcmeProblem, malformed } from "./problem";

/**
 * ACME Renewal Information (RFC 9773). A certificate is named by base64url(authority key
 * identifier) "." base64url(serial number octets) (4.1). The suggested window follows the same
 * rule as server-driven renewal: the profile's renewal.renew_before_days when set, else the
 * last third of the lifetime (cert-manager's default); a revoked certificate gets a window in
 * the past, so clients renew at once (4.2).
 */
/** How many certificates of one serial (each of another CA) are looked at. */
const SAME_SERIAL_LIMIT = 16;

export async function certificateOfCertId(x: AcmeExchange, certId: string): Promise<Certificate> {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(certId);
  if (!m) throw malformed("a certificate identifier is base64url(AKI).base64url(serial)");
  const aki = Buffer.from(m[1]!, "base64url");
  const serial = serialToHex(Buffer.from(m[2]!, "base64url"));
  // Serials are unique per CA; the AKI names the CA.
  const rows = await x.ctx.store.certificates.findBySerial(serial, SAME_SERIAL_LIMIT);
  const cert = rows.find((row) => {
    if (row.profileId !== x.profile.id) return false;
    const parsed = parseCertificate(row.certificatePem);
    return parsed.authorityKeyIdentifier?.equals(aki) ?? false;
  });
  if (!cert)
    throw new AcmeProblem("malformed", "no certificate of this profile has this identifier", 404);
  return cert;
}

/**
 * `replaces` of a newOrder (RFC 9773 5): a certificate of this profile that this account owns
 * and that shares an identifier with the order (the RFC's SHOULD: until stop 51 of 2026-12-07 an
 * unrelated order could take a certificate's one replacement, an outside probe, ACME F6).
 * Returns the identifier in its canonical spelling (canonicalCertId), the one stored.
 */
export async function findReplaced(
  x: AcmeExchange,
  account: AccountRow,
  certId: string,
  identifiers: readonly AcmeIdentifier[],
): Promise<string> {
  const cert = await certificateOfCertId(x, certId);
  if (cert.owner !== account.id) {
    throw new AcmeProblem("unauthorized", "replaces names a certificate of another account", 403);
  }
  if (!identifiers.some((identifier) => certificateNames(cert, identifier))) {
    throw malformed(
      "replaces names a certificate that shares no identifier with this order (RFC 9773 5)",
    );
  }
  return canonicalCertId(certId);
}

/** Whether the certificate names this identifier among its SANs. */
function certificateNames(cert: Certificate, identifier: AcmeIdentifier): boolean {
  if (identifier.type === "ip") {
    const ip = canonicalIp(identifier.value);
    return cert.sans.ip.some((value) => canonicalIp(value) === ip);
  }
  const name = identifier.value.toLowerCase();
  return cert.sans.dns.some((value) => value.toLowerCase() === name);
}

/**
 * A certificate identifier as its bytes spell it: base64url leaves unused low bits in a last
 * character, and an identifier with them set decodes to the same certificate (until stop 51 of
 * 2026-12-07 such a spelling was a second replacement of one certificate: ACME F5). Call with
 * an identifier certificateOfCertId accepted.
 */
export function canonicalCertId(certId: string): string {
  const [aki, serial] = certId.split(".") as [string, string];
  return `${Buffer.from(aki, "base64url").toString("base64url")}.${Buffer.from(serial, "base64url").toString("base64url")}`;
}

const DAY_MS = 86_400_000;

export function suggestedWindow(
  cert: Pick<Certificate, "notBefore" | "notAfter" | "revokedAt">,
  renewBeforeDays: number,
  now: Date,
): { start: Date; end: Date } {
  if (cert.revokedAt) {
    return { start: new Date(now.getTime() - 2 * DAY_MS), end: new Date(now.getTime() - DAY_MS) };
  }
  const notAfter = cert.notAfter.getTime();
  const lifetime = notAfter - cert.notBefore.getTime();
  const before = renewBeforeDays > 0 ? Math.min(renewBeforeDays * DAY_MS, lifetime) : lifetime / 3;
  return { start: new Date(notAfter - before), end: new Date(notAfter - before / 2) };
}
