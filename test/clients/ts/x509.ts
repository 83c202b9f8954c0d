/**
 * X.509 work of the TypeScript client test, done with Node's crypto and the openssl command,
 * never with certmint's own signer: a CSR from `openssl req`, the CRL read by `openssl crl`, and
 * the chain checked link by link with Node's X509Certificate.
 */
import { execFileSync, spawnSync } from "node:child_process";
import type { KeyObject, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

/** Runs `fn` with a private temporary directory, removed afterwards. */
function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "certmint-ts-client-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A PKCS #10 CSR (PEM) for `name` (CN and DNS SAN), signed by `key`, made by `openssl req`. */
export function opensslCsr(key: KeyObject, name: string): string {
  return withTempDir((dir) => {
    const keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, key.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    return execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-sha256",
        "-key",
        keyFile,
        "-subj",
        `/CN=${name}`,
        "-addext",
        `subjectAltName=DNS:${name}`,
      ],
      { encoding: "utf8" },
    );
  });
}

/** RFC 5280 CRLReason codes by the names `openssl crl -text` prints. */
const OPENSSL_REASONS: Record<string, number> = {
  Unspecified: 0,
  "Key Compromise": 1,
  "CA Compromise": 2,
  "Affiliation Changed": 3,
  Superseded: 4,
  "Cessation Of Operation": 5,
  "Certificate Hold": 6,
  "Remove From CRL": 8,
  "Privilege Withdrawn": 9,
  "AA Compromise": 10,
};

export interface ParsedCrl {
  /** `openssl crl -CAfile` verified the CRL's signature with the issuer's certificate. */
  signatureValid: boolean;
  /** Revoked serials (lower-case hex, no leading zeros) and their reason codes. */
  entries: Map<string, number>;
}

/** Reads a DER CRL with `openssl crl`, and checks its signature against `issuerPem`. */
export function opensslCrl(der: Buffer, issuerPem: string): ParsedCrl {
  return withTempDir((dir) => {
    const crlFile = join(dir, "crl.der");
    const caFile = join(dir, "issuer.pem");
    writeFileSync(crlFile, der);
    writeFileSync(caFile, issuerPem);
    // openssl prints "verify OK" (on stderr) and exits 0, or "verify failure" and exits 1.
    const verify = spawnSync(
      "openssl",
      ["crl", "-inform", "DER", "-in", crlFile, "-CAfile", caFile, "-noout"],
      { encoding: "utf8" },
    );
    const signatureValid =
      verify.status === 0 && /^verify OK$/m.test(verify.stderr + verify.stdout);
    const text = execFileSync(
      "openssl",
      ["crl", "-inform", "DER", "-in", crlFile, "-noout", "-text"],
      { encoding: "utf8" },
    );
    return { signatureValid, entries: revokedEntries(text) };
  });
}

function revokedEntries(text: string): Map<string, number> {
  const entries = new Map<string, number>();
  const revoked = text.split(/^Revoked Certificates:$/m)[1] ?? "";
  for (const block of revoked.split(/^\s*Serial Number: /m).slice(1)) {
    const serial = normalizeSerial(block.split("\n")[0]!.trim());
    const reason = /X509v3 CRL Reason Code:\s*\n\s*(.+)/.exec(block)?.[1]?.trim();
    entries.set(serial, reason === undefined ? 0 : (OPENSSL_REASONS[reason] ?? -1));
  }
  return entries;
}

/** Hex serial in one form: lower case, no colons, no leading zeros. */
export function normalizeSerial(hex: string): string {
  return BigInt(`0x${hex.replaceAll(":", "")}`).toString(16);
}

export interface ChainResult {
  ok: boolean;
  length: number;
  error?: string;
}

/**
 * Checks leaf -> intermediates -> root with Node's X509Certificate: each link issued by the next
 * (names, key identifiers, keyCertSign: checkIssued) and signed by its key (verify); every CA is
 * a CA; the root is self-signed; all valid now; the leaf is for `dnsName` and for serverAuth.
 */
export function verifyChain(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  root: X509Certificate,
  dnsName: string,
  now = new Date(),
): ChainResult {
  const path = [leaf, ...intermediates, root];
  const fail = (error: string): ChainResult => ({ ok: false, length: path.length, error });
  for (let i = 0; i + 1 < path.length; i++) {
    const [child, parent] = [path[i]!, path[i + 1]!];
    if (!parent.ca) return fail(`${parent.subject} is not a CA`);
    if (!child.checkIssued(parent)) return fail(`${child.subject} not issued by ${parent.subject}`);
    if (!child.verify(parent.publicKey)) return fail(`bad signature on ${child.subject}`);
  }
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) return fail("root not self-signed");
  for (const c of path) {
    if (now < new Date(c.validFrom) || now > new Date(c.validTo)) {
      return fail(`${c.subject} not valid now`);
    }
  }
  if (leaf.ca) return fail("the leaf is a CA");
  if (leaf.checkHost(dnsName) !== dnsName) return fail(`the leaf is not for ${dnsName}`);
  if (!leaf.keyUsage?.includes(SERVER_AUTH)) return fail("the leaf lacks serverAuth");
  return { ok: true, length: path.length };
}
