/**
 * The TLS versions and cipher suites the gRPC port accepts (issue 10 item 11,
 * src/server/tls.ts TLS_POLICY), seen by openssl s_client as an attacker's client would: with
 * an RSA and an EC server certificate, TLS 1.2 is refused for every suite without forward
 * secrecy or without AEAD, accepted with ECDHE and AES-GCM or ChaCha20-Poly1305, and TLS 1.3
 * is what a client offering both gets.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type Issued, makeCa, makeLeaf } from "./pki";
import { type LoggedCertmint, startLogged } from "./server";

interface Handshake {
  /** openssl's exit code: 0 once a handshake completed. */
  code: number;
  /** The protocol and suite negotiated, when one was. */
  protocol?: string;
  cipher?: string;
  output: string;
}

/**
 * One handshake with openssl s_client. Asynchronous on purpose: the server runs in this
 * process, so a synchronous spawn would block it from answering. `@SECLEVEL=0` makes the client
 * offer even the weak suites, so a refusal is the server's.
 */
function handshake(port: number, ca: string, args: string[]): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "openssl",
      [
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        "-CAfile",
        ca,
        "-alpn",
        "h2",
        "-brief",
        ...args,
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? 1,
        protocol: /Protocol version: (\S+)/.exec(output)?.[1],
        cipher: /Ciphersuite: (\S+)/.exec(output)?.[1],
        output,
      }),
    );
    // No application data: end stdin so s_client closes right after the handshake.
    child.stdin.end();
  });
}

/** Refused by the server: it answered the ClientHello with a handshake_failure alert (40). */
function expectRefused(h: Handshake): void {
  expect(h.code, h.output).not.toBe(0);
  expect(h.cipher).toBeUndefined();
  expect(h.output).toMatch(/alert handshake failure|no shared cipher|SSL alert number 40/);
}

describe("TLS versions and cipher suites on the gRPC port", () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  const servers: Record<"rsa" | "ec", LoggedCertmint | undefined> = {
    rsa: undefined,
    ec: undefined,
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    ca = makeCa(dir, "certmint cipher test CA");
    for (const key of ["rsa", "ec"] as const) {
      const cert = makeLeaf(dir, ca, "certmint.test", "server", [], key);
      servers[key] = await startLogged(db.url, {
        // One data directory, so one key-encryption key, for both servers on one database.
        CERTMINT_DATA_DIR: dir.path,
        CERTMINT_TLS_CERT_FILE: cert.certFile,
        CERTMINT_TLS_KEY_FILE: cert.keyFile,
      });
    }
  });
  afterAll(async () => {
    for (const s of Object.values(servers)) await s?.running.shutdown();
    await db?.drop();
    dir.remove();
  });

  const port = (key: "rsa" | "ec") => servers[key]!.port;

  describe.each([
    {
      key: "rsa" as const,
      good: [
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
      ],
      // Static RSA (no forward secrecy), CBC with SHA-1 and SHA-2 MACs, and finite-field DHE.
      bad: [
        "AES128-SHA",
        "AES256-SHA",
        "AES128-GCM-SHA256",
        "AES128-SHA256",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES128-SHA256",
        "DHE-RSA-AES128-GCM-SHA256",
      ],
    },
    {
      key: "ec" as const,
      good: [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
      ],
      bad: ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256"],
    },
  ])("with an $key server certificate", ({ key, good, bad }) => {
    it.each(bad)("TLS 1.2 with %s is refused", async (suite) => {
      expectRefused(
        await handshake(port(key), ca.certFile, ["-tls1_2", "-cipher", `${suite}:@SECLEVEL=0`]),
      );
    });

    it.each(good)("TLS 1.2 with %s is accepted", async (suite) => {
      const h = await handshake(port(key), ca.certFile, ["-tls1_2", "-cipher", suite]);
      expect(h.code, h.output).toBe(0);
      expect(h.protocol).toBe("TLSv1.2");
      expect(h.cipher).toBe(suite);
    });

    it("a TLS 1.2 client offering weak suites first gets an ECDHE AEAD suite (server order)", async () => {
      const h = await handshake(port(key), ca.certFile, [
        "-tls1_2",
        "-cipher",
        `${bad.join(":")}:${good.join(":")}:@SECLEVEL=0`,
      ]);
      expect(h.code, h.output).toBe(0);
      expect(good).toContain(h.cipher);
    });

    it("a client offering TLS 1.3 and 1.2 gets TLS 1.3", async () => {
      const h = await handshake(port(key), ca.certFile, []);
      expect(h.code, h.output).toBe(0);
      expect(h.protocol).toBe("TLSv1.3");
    });

    it("TLS 1.1 is refused", async () => {
      const h = await handshake(port(key), ca.certFile, ["-tls1_1", "-cipher", "ALL:@SECLEVEL=0"]);
      expect(h.code, h.output).not.toBe(0);
      expect(h.protocol).toBeUndefined();
    });
  });
});
