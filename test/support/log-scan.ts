import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Secrets that must never reach a log line (issue 6): private keys in PEM, in base64 DER
 * (the PKCS #8 prefixes of every key type certmint makes, and SEC1 / PKCS #1 forms), and
 * access token secrets, which all start with "certmint_" (src/issuance/access-tokens/secret.ts).
 * And the forms in which a failed or logged database statement carries the values it wrote
 * (issue 10 item 10): a bytea literal of 32 bytes or more (a sealed CA key, a token hash), the
 * row PostgreSQL quotes in a constraint error's detail, an INSERT with its values, and a Buffer
 * serialised byte by byte.
 */
export const SECRET_PATTERNS: ReadonlyArray<[string, RegExp]> = [
  ["PEM private key", /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/],
  ["access token secret", /certmint_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/],
  ["PKCS#8 EC key (base64 DER)", /MIG[EH]AgEAMBMGByqGSM49AgEG/],
  ["PKCS#8 EC P-384 key (base64 DER)", /MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGe/],
  ["PKCS#8 Ed25519 key (base64 DER)", /MC4CAQAwBQYDK2VwBCIEI/],
  ["PKCS#8 RSA key (base64 DER)", /MII[A-Za-z0-9+/]{3}IBADANBgkqhkiG9w0BAQEFAASC/],
  ["SEC1 EC key (base64 DER)", /MHcCAQEEI/],
  ["PKCS#1 RSA key (base64 DER)", /MII[A-Za-z0-9+/]{3}IBAAKC/],
  ["bytea value (sealed key or token hash)", /\\x[0-9a-fA-F]{64,}/],
  ["row values in a PostgreSQL error", /Failing row contains/],
  ["SQL statement with its values", /insert into \S+ \([^)]*\) values \(/i],
  ["Buffer contents", /"type":"Buffer","data":\[/],
];

export interface SecretFinding {
  file: string;
  line: number;
  kind: string;
}

/** Every secret found in the files of `dir` (one finding per line and kind; never the secret). */
export function scanLogDirectory(dir: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const name of readdirSync(dir)) {
    const file = join(dir, name);
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((text, i) => {
      for (const [kind, pattern] of SECRET_PATTERNS) {
        if (pattern.test(text)) findings.push({ file, line: i + 1, kind });
      }
    });
  }
  return findings;
}
