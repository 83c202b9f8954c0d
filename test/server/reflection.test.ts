import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { ROOT, type ServerProcess, startServerProcess } from "../support/server-process";

// grpcurl is what the README tells operators to use; `make test` installs it (make grpcurl).
const GRPCURL = join(ROOT, ".tools", "bin", "grpcurl");

describe("server reflection, as grpcurl sees it", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const grpcurl = (...args: string[]) =>
    execFileSync(GRPCURL, ["-plaintext", ...args], { encoding: "utf8", timeout: 30_000 });

  beforeAll(async () => {
    if (!existsSync(GRPCURL))
      throw new Error(`${GRPCURL} is missing: run the tests with \`make test\``);
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("lists the certmint services and health", () => {
    const services = grpcurl(server.address, "list").trim().split("\n");
    expect(services).toEqual(
      expect.arrayContaining([
        "certmint.v1.CertificateService",
        "certmint.v1.CertificateAuthorityService",
        "certmint.v1.CertificatePolicyService",
        "certmint.v1.CertificateProfileService",
        "certmint.v1.AccessTokenService",
        "certmint.v1.AuditService",
        "grpc.health.v1.Health",
      ]),
    );
  });

  it("describes a message with its snake_case fields and comments", () => {
    const text = grpcurl(server.address, "describe", "certmint.v1.IssueCertificateRequest");
    expect(text).toContain("string certificate_profile = 1;");
    expect(text).toContain("string request_id = 2;");
    expect(text).toContain("bool validate_only = 9;");
    expect(text).toContain("google.protobuf.Duration ttl = 8;");
    expect(text).toContain("// Run every check, sign nothing and store nothing.");
  });

  it("resolves imported types (well-known types, google.rpc) for dynamic calls", () => {
    const text = grpcurl(server.address, "describe", "certmint.v1.CertificateRequest");
    expect(text).toContain("google.rpc.Status error = 9;");
    expect(grpcurl(server.address, "describe", "google.rpc.Status")).toContain("int32 code = 1;");
  });

  it("calls health and an RPC with snake_case JSON, and shows error details", () => {
    expect(JSON.parse(grpcurl(server.address, "grpc.health.v1.Health/Check"))).toEqual({
      status: "SERVING",
    });
    let failure = "";
    try {
      grpcurl(
        "-format-error",
        "-H",
        `authorization: Bearer ${server.adminToken()}`,
        "-d",
        '{"certificate_request_id": "00000000-0000-0000-0000-000000000000"}',
        server.address,
        "certmint.v1.CertificateService/GetRequestStatus",
      );
    } catch (e) {
      const { stdout, stderr } = e as { stdout?: string; stderr?: string };
      failure = stdout?.trim() ? stdout : String(stderr);
    }
    const err = JSON.parse(failure);
    expect(err.code).toBe(5); // NOT_FOUND
    expect(err.message).toBe("no certificate request 00000000-0000-0000-0000-000000000000");
    expect(err.details).toEqual([
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        domain: "certmint.dev",
        reason: "CERTIFICATE_REQUEST_NOT_FOUND",
      },
    ]);
  });
});
