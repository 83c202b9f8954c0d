/**
 * Two certmint processes on one PostgreSQL database (issue 11, "Replicas and outages"):
 *  - a revocation through one replica reaches the other replica's published CRL at once, not
 *    after its cache period (an hour here).
 */
import { randomBytes } from "node:crypto";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateAuthorityServiceClient } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import { attrRequest } from "../certificates/helpers";
import { createProfileRows, createRoot } from "../support/fixtures";
import { bearer, call, type TestCertmint } from "../support/harness";
import { opensslOk } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type ServerProcess, startServerProcess } from "../support/server-process";

/** Polls `check` until it returns a value other than undefined (a state, never a duration). */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The port a server process publishes CRLs on (CERTMINT_PUBLICATION_LISTEN with port 0). */
function publicationPort(server: ServerProcess): number {
  const m = /"port":(\d+)[^\n]*"msg":"publishing CRLs/.exec(server.output());
  if (!m) throw new Error(`no publication port in the log:\n${server.output()}`);
  return Number(m[1]);
}

describe("two replicas on one database", () => {
  let db: TestDatabase;
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let env: Record<string, string>;
  let token = "";
  let rootId = "";
  const clients: Array<{ close(): void }> = [];
  const certificatesOn = (server: ServerProcess) => {
    const c = new CertificateServiceClient(server.address, credentials.createInsecure(), {
      interceptors: [bearer(token)],
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await createTestDatabase("certmint_replicas");
    env = {
      DATABASE_URL: db.url,
      // Both replicas unseal the same CA keys: one key-encryption key, given to both.
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_PUBLICATION_LISTEN: "127.0.0.1:0",
      // Long: only the revocation check may make replica B sign a fresh CRL in this test.
      CERTMINT_CRL_CACHE_SECONDS: "3600",
      CERTMINT_LOG_LEVEL: "info",
    };
    a = await startServerProcess(env);
    token = a.adminToken();
    const authorities = new CertificateAuthorityServiceClient(
      a.address,
      credentials.createInsecure(),
      { interceptors: [bearer(token)] },
    );
    clients.push(authorities);
    // The fixtures use only these members of a TestCertmint.
    const h = { db, authorities } as unknown as TestCertmint;
    rootId = (await createRoot(h, "replica-root")).id;
    await createProfileRows(h, { slug: "web", caId: rootId });
    b = await startServerProcess(env);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await b?.stop();
    await a?.stop();
    await db?.drop();
  });

  it("a revocation through replica A reaches replica B's published CRL, not after its cache period", async () => {
    const crlUrl = (server: ServerProcess) =>
      `http://127.0.0.1:${publicationPort(server)}/crl/${rootId}.crl`;
    const listed = async (server: ServerProcess, serial: string) => {
      const der = Buffer.from(await (await fetch(crlUrl(server))).arrayBuffer());
      const pem = `-----BEGIN X509 CRL-----\n${der.toString("base64")}\n-----END X509 CRL-----\n`;
      const text = opensslOk(["crl", "-noout", "-text"], pem);
      return text.replace(/:/g, "").toLowerCase().includes(serial.toLowerCase());
    };
    const issued = await call(
      certificatesOn(a!),
      "issueCertificate",
      attrRequest("web", { cn: "revoked.example.com", dns: ["revoked.example.com"] }),
    );
    const serial = issued.certificate!.serialNumber;
    // Both replicas sign and cache their CRL (valid for an hour here) before the revocation.
    expect(await listed(a!, serial)).toBe(false);
    expect(await listed(b!, serial)).toBe(false);

    await call(certificatesOn(a!), "revokeCertificate", {
      certificate: serial,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    expect(await listed(a!, serial)).toBe(true);
    // Within a second by design (ca/publication.ts); the generous bound is for a busy machine,
    // and still far below the hour the cache would otherwise keep the old CRL.
    await waitFor(
      "replica B's CRL to list the revoked serial",
      async () => ((await listed(b!, serial)) ? true : undefined),
      30_000,
    );
  });
});
