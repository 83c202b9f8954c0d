import { keyAuthorizationDigest } from "../../signer/jws";
import { AcmeProblem } from "../problem";
import type { ValidationTargets } from "./targets";

/**
 * dns-01 (RFC 8555 8.4): a TXT record at _acme-challenge.<name> (for a wildcard, the name
 * without "*.") holding base64url(SHA-256(key authorization)), looked up with the configured
 * resolver (CERTMINT_ACME_DNS_RESOLVERS, else the system's).
 */
export async function validateDns01(
  targets: ValidationTargets,
  name: string,
  keyAuthorization: string,
): Promise<void> {
  const expected = keyAuthorizationDigest(keyAuthorization).toString("base64url");
  const record = `_acme-challenge.${name}`;
  let records: string[][];
  try {
    records = await targets.dns().resolveTxt(record);
  } catch (err) {
    throw new AcmeProblem(
      "dns",
      `dns-01: no TXT record at ${record} (${(err as NodeJS.ErrnoException).code ?? "lookup failed"})`,
    );
  }
  if (!records.some((chunks) => chunks.join("") === expected)) {
    throw new AcmeProblem(
      "incorrectResponse",
      `dns-01: no TXT record at ${record} holds this challenge's digest`,
      403,
    );
  }
}
