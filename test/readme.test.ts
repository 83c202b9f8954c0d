import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./support/postgres";
import { ROOT, type ServerProcess, startServerProcess } from "./support/server-process";

/**
 * The README's shell block under `heading`, with the default address replaced by `address`
 * and the default data directory's admin token file by the test server's.
 */
function readmeBlock(heading: string, address: string, dataDir: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.split(`## ${heading}`)[1];
  const block = section?.split("```sh")[1]?.split("```")[0];
  if (!block) throw new Error(`README has no sh block under "## ${heading}"`);
  return block
    .replaceAll("127.0.0.1:50051", address)
    .replaceAll("data/admin-token", join(dataDir, "admin-token"));
}

/** Splits grpcurl's concatenated JSON outputs. */
function jsonDocuments(text: string): Array<Record<string, unknown>> {
  return text
    .split(/\n(?=\{)/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => JSON.parse(t));
}

describe("the README's examples work exactly as written", () => {
  let db: TestDatabase;
  let server: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("a first certificate with grpcurl", () => {
    const script = `set -euo pipefail\ncd ${JSON.stringify(ROOT)}\n${readmeBlock("A first certificate with grpcurl", server.address, server.dataDir)}`;
    const out = execFileSync("bash", ["-c", script], { encoding: "utf8", timeout: 60_000 });
    const docs = jsonDocuments(out);
    expect(docs).toHaveLength(6); // root, intermediate, policy, profile, certificate, CRL
    const issued = docs[4] as {
      status: string;
      certificate: { certificatePem: string; certificateChainPem: string[] };
    };
    expect(issued.status).toBe("CERTIFICATE_REQUEST_STATUS_ISSUED");
    const leaf = new X509Certificate(issued.certificate.certificatePem);
    const issuing = new X509Certificate(issued.certificate.certificateChainPem[0]!);
    const root = new X509Certificate(issued.certificate.certificateChainPem[1]!);
    expect(leaf.subjectAltName).toBe("DNS:api.example.com");
    expect(leaf.verify(issuing.publicKey) && issuing.verify(root.publicKey)).toBe(true);
    expect(docs[5]).toMatchObject({ crlNumber: "1" });
  });

  it("the grpcurl list, describe and health examples", () => {
    const out = execFileSync(
      "bash",
      [
        "-c",
        `cd ${JSON.stringify(ROOT)}\n${readmeBlock("Talking to certmint with grpcurl", server.address, server.dataDir).replace(/^make grpcurl.*$/m, "")}`,
      ],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(out).toContain("certmint.v1.CertificateService");
    expect(out).toContain("string certificate_profile = 1;");
    expect(out).toContain('"status": "SERVING"');
  });
});
