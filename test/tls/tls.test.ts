import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { healthCheckWith, type Issued, makeCa, makeLeaf, tlsHealthCheck } from "./pki";
import { type LoggedCertmint, startLogged } from "./server";

/** The error a call expected to fail rejected with. */
async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

const keyBody = (pem: string) => pem.split("\n")[1]!;

describe("TLS and mTLS on the gRPC port", () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  let serverCert: Issued;
  let client: Issued;
  let stranger: Issued;
  let tls: LoggedCertmint;
  let mtls: LoggedCertmint;
  let optional: LoggedCertmint;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ca = makeCa(dir, "certmint test CA");
    const otherCa = makeCa(dir, "unconfigured CA");
    serverCert = makeLeaf(dir, ca, "certmint.test", "server");
    client = makeLeaf(dir, ca, "payments-api", "client", [
      "URI:spiffe://prod.example/ns/payments/sa/api",
    ]);
    stranger = makeLeaf(dir, otherCa, "payments-api", "client");
    const files = {
      // One data directory, so one key-encryption key, for the three servers on one database.
      CERTMINT_DATA_DIR: dir.path,
      CERTMINT_TLS_CERT_FILE: serverCert.certFile,
      CERTMINT_TLS_KEY_FILE: serverCert.keyFile,
    };
    tls = await startLogged(db.url, files);
    mtls = await startLogged(db.url, {
      ...files,
      CERTMINT_TLS_CLIENT_CA_FILE: ca.certFile,
      CERTMINT_TLS_REQUIRE_CLIENT_CERT: "true",
      // Health checks are logged at debug (src/server/call-logging.ts); the test reads them.
      CERTMINT_LOG_LEVEL: "debug",
    });
    optional = await startLogged(db.url, {
      ...files,
      CERTMINT_TLS_CLIENT_CA_FILE: ca.certFile,
      CERTMINT_LOG_LEVEL: "debug",
    });
  });
  afterAll(async () => {
    for (const s of [tls, mtls, optional]) await s?.running.shutdown();
    await db?.drop();
    dir.remove();
  });

  describe("TLS", () => {
    it("a client trusting the CA reaches health SERVING", async () => {
      expect(await tlsHealthCheck(tls.port, ca.certPem)).toBe("SERVING");
    });

    it("a plaintext client fails UNAVAILABLE", async () => {
      const err = await failure(
        healthCheckWith(`127.0.0.1:${tls.port}`, credentials.createInsecure()),
      );
      expect(err.code).toBe(status.UNAVAILABLE);
    });

    it("a client that does not trust the issuing CA fails UNAVAILABLE", async () => {
      const err = await failure(tlsHealthCheck(tls.port, stranger.certPem));
      expect(err.code).toBe(status.UNAVAILABLE);
    });

    it("logs the certificate's subject, serial and notAfter at start, never the key", () => {
      const line = tls.logs.find((l) => l.msg === "TLS enabled");
      expect(line).toMatchObject({
        subject: "CN=certmint.test",
        issuer: "CN=certmint test CA",
        serial: serverCert.serial,
        fingerprintSha256: serverCert.fingerprint,
        requireClientCert: false,
        reloadIntervalMs: 30_000,
      });
      expect(Date.parse(line?.notAfter as string)).toBeGreaterThan(Date.now());
      expect(tls.text()).not.toContain(keyBody(serverCert.keyPem));
    });
  });

  describe("mTLS with CERTMINT_TLS_REQUIRE_CLIENT_CERT=true", () => {
    it("refuses a client certificate from an unconfigured CA at the handshake", async () => {
      const err = await failure(tlsHealthCheck(mtls.port, ca.certPem, stranger));
      expect(err.code).toBe(status.UNAVAILABLE);
    });

    it("refuses a client without a certificate at the handshake", async () => {
      const err = await failure(tlsHealthCheck(mtls.port, ca.certPem));
      expect(err.code).toBe(status.UNAVAILABLE);
    });

    it("accepts a certificate from the configured CA and logs its identity with the call", async () => {
      const before = mtls.logs.length;
      expect(await tlsHealthCheck(mtls.port, ca.certPem, client)).toBe("SERVING");
      const calls = mtls.logs.slice(before).filter((l) => l.msg === "call");
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({
        method: "/grpc.health.v1.Health/Check",
        code: "OK",
        peer: {
          cn: "payments-api",
          uris: ["spiffe://prod.example/ns/payments/sa/api"],
          serial: client.serial,
        },
      });
      // Only calls that completed a handshake are logged: the refused ones never were.
      expect(mtls.logs.filter((l) => l.msg === "call")).toHaveLength(1);
      expect(mtls.text()).not.toContain(keyBody(client.keyPem));
    });

    it("logs the client CAs and the requirement at start", () => {
      expect(mtls.logs.find((l) => l.msg === "TLS enabled")).toMatchObject({
        clientCas: ["CN=certmint test CA"],
        requireClientCert: true,
      });
    });
  });

  describe("mTLS optional (a client CA file, no requirement)", () => {
    it("accepts a client without a certificate, with no identity", async () => {
      const before = optional.logs.length;
      expect(await tlsHealthCheck(optional.port, ca.certPem)).toBe("SERVING");
      const call = optional.logs.slice(before).find((l) => l.msg === "call");
      expect(call).toBeDefined();
      expect(call).not.toHaveProperty("peer");
    });

    it("gives no identity for a certificate from an unconfigured CA", async () => {
      const before = optional.logs.length;
      expect(await tlsHealthCheck(optional.port, ca.certPem, stranger)).toBe("SERVING");
      const call = optional.logs.slice(before).find((l) => l.msg === "call");
      expect(call).not.toHaveProperty("peer");
    });

    it("gives the identity of a verified certificate", async () => {
      const before = optional.logs.length;
      expect(await tlsHealthCheck(optional.port, ca.certPem, client)).toBe("SERVING");
      const call = optional.logs.slice(before).find((l) => l.msg === "call");
      expect(call).toMatchObject({ peer: { cn: "payments-api", serial: client.serial } });
    });
  });
});
