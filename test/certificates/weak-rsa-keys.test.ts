/**
 * IssueCertificate with a CSR of an RSA key anyone can factor (src/signer/rsa-modulus.ts):
 * INVALID_ARGUMENT CSR_KEY_TOO_WEAK on csr_pem, the rule named, and no certificate stored.
 */
import type { KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closePrimesKey, smallFactorKey } from "../support/weak-rsa";
import {
  Code,
  countRows,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  opensslOk,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

describe("CSRs of RSA keys anyone can factor", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const csrOf = (key: KeyObject, name: string) =>
    opensslOk([
      "req",
      "-new",
      "-key",
      tmp.file(`${name}.key`, key.export({ type: "pkcs8", format: "pem" }) as string),
      "-subj",
      `/CN=${name}.example.com`,
      "-addext",
      `subjectAltName=DNS:${name}.example.com`,
    ]);

  it.each([
    ["primes close enough for Fermat's method", closePrimesKey, "Fermat"],
    ["a prime factor below 752", smallFactorKey, "a prime factor below 752"],
  ])("refuses a key with %s, storing no certificate", async (name, make, words) => {
    const before = await countRows(h, "certificate");
    const err = await rpcError(issue(h, csrRequest("web", csrOf(make(), name.split(" ")[0]!))));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_KEY_TOO_WEAK");
    expect(err.message).toContain(words);
    expect(err.violations.map((v) => v.field)).toEqual(["csr_pem"]);
    expect(await countRows(h, "certificate")).toBe(before);
  });
});
