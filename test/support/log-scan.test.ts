import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { newTokenSecret } from "../../src/issuance/access-tokens/secret";
import { scanLogDirectory } from "./log-scan";

/** The scan that ends every test run must find what it looks for, in every form a log could hold. */
describe("the log scan of a test run", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const scan = (text: string) => {
    dir = mkdtempSync(join(tmpdir(), "certmint-scan-"));
    writeFileSync(join(dir, "server.log"), `{"msg":"call"}\n${text}\n`);
    return scanLogDirectory(dir).map((f) => f.kind);
  };

  it("finds an access token secret inside a JSON line", () => {
    expect(scan(JSON.stringify({ msg: "oops", header: `Bearer ${newTokenSecret()}` }))).toEqual([
      "access token secret",
    ]);
  });

  const keys = {
    "EC P-256": generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
    "EC P-384": generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey,
    Ed25519: generateKeyPairSync("ed25519").privateKey,
    "RSA 2048": generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
  };

  for (const [name, key] of Object.entries(keys)) {
    it(`finds a ${name} key as PKCS #8 PEM, and its DER as one base64 string`, () => {
      const pem = key.export({ type: "pkcs8", format: "pem" }).toString();
      expect(scan(JSON.stringify({ msg: "x", pem }))).toContain("PEM private key");
      const der = key.export({ type: "pkcs8", format: "der" }).toString("base64");
      expect(scan(JSON.stringify({ msg: "x", der })).length).toBeGreaterThan(0);
    });
  }

  it("finds SEC1 EC and PKCS #1 RSA DER in base64", () => {
    const sec1 = keys["EC P-256"].export({ type: "sec1", format: "der" }).toString("base64");
    const pkcs1 = keys["RSA 2048"].export({ type: "pkcs1", format: "der" }).toString("base64");
    expect(scan(sec1)).toContain("SEC1 EC key (base64 DER)");
    expect(scan(pkcs1)).toContain("PKCS#1 RSA key (base64 DER)");
  });

  it("finds what a failed insert writes: bytea values, the failing row, the statement, Buffers", () => {
    const sealed = `\\x01${"ab".repeat(80)}`;
    const statement = `insert into "certificate_authority" ("id", "sealed_private_key") values ('x', E'${sealed}') - boom`;
    expect(scan(JSON.stringify({ err: { message: statement } }))).toEqual([
      "bytea value (sealed key or token hash)",
      "SQL statement with its values",
    ]);
    expect(scan(JSON.stringify({ detail: "Failing row contains (x, y)" }))).toEqual([
      "row values in a PostgreSQL error",
    ]);
    expect(scan(JSON.stringify({ params: [Buffer.from("hash")] }))).toEqual(["Buffer contents"]);
  });

  it("finds nothing in an ordinary call log line or a certificate", () => {
    const line = JSON.stringify({
      level: 30,
      msg: "call",
      method: "/certmint.v1.CertificateService/IssueCertificate",
      code: "OK",
      certificate_pem:
        "-----BEGIN CERTIFICATE-----\nMIIBkTCCATegAwIBAgIRA...\n-----END CERTIFICATE-----",
    });
    expect(scan(line)).toEqual([]);
  });
});
