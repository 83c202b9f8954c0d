import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { type ClientReadableStream, credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TempDir } from "../support/openssl";
import { OWN_CONNECTION } from "../support/own-connection";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { WAIT_TIMEOUT_MS } from "../support/wait";
import {
  HealthClientWithOptions,
  type Issued,
  makeCa,
  makeLeaf,
  replaceAtomically,
  servedFingerprint,
  tlsHealthCheck,
  waitFor,
} from "./pki";
import { type LoggedCertmint, startLogged } from "./server";

const RELOAD_MS = 200;

describe("the TLS certificate is replaced while calls are in flight", () => {
  const dir = new TempDir();
  let db: TestDatabase;
  let ca: Issued;
  let first: Issued;
  let second: Issued;
  let certFile: string;
  let keyFile: string;
  let server: LoggedCertmint;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    ca = makeCa(dir, "rotation CA");
    first = makeLeaf(dir, ca, "certmint.test", "server");
    second = makeLeaf(dir, ca, "certmint.test", "server");
    // The files the server watches; the test replaces them as a deployment would.
    certFile = join(dir.path, "live-cert.pem");
    keyFile = join(dir.path, "live-key.pem");
    copyFileSync(first.certFile, certFile);
    copyFileSync(first.keyFile, keyFile);
    server = await startLogged(db.url, {
      CERTMINT_TLS_CERT_FILE: certFile,
      CERTMINT_TLS_KEY_FILE: keyFile,
      CERTMINT_TLS_RELOAD_INTERVAL_MS: String(RELOAD_MS),
    });
  });
  afterAll(async () => {
    await server?.running.shutdown();
    await db?.drop();
    dir.remove();
  });

  it("no call fails; a half-written rotation keeps the old certificate; new connections then get the new one", async () => {
    const channel = new HealthClientWithOptions(
      `127.0.0.1:${server.port}`,
      credentials.createSsl(Buffer.from(ca.certPem)),
      OWN_CONNECTION,
    );
    // A stream open across the whole rotation.
    const watch = (
      channel as unknown as {
        watch(req: { service: string }): ClientReadableStream<{ status: string }>;
      }
    ).watch({ service: "" });
    const watched: string[] = [];
    const watchErrors: Error[] = [];
    let watchEnded = false;
    watch.on("data", (m) => watched.push(m.status));
    watch.on("error", (e) => watchErrors.push(e));
    watch.on("end", () => {
      watchEnded = true;
    });
    await waitFor("the watch to report SERVING", () => watched.includes("SERVING"));

    // Unary calls back to back on the same channel.
    let running = true;
    let succeeded = 0;
    const failures: Error[] = [];
    const loop = (async () => {
      while (running) {
        await new Promise<void>((resolve) =>
          channel.check({ service: "" }, { deadline: Date.now() + WAIT_TIMEOUT_MS }, (err) => {
            if (err) failures.push(err);
            else succeeded++;
            resolve();
          }),
        );
      }
    })();

    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);

    // 1. Only the certificate is replaced: it does not match the key, so the server keeps
    //    serving the previous pair and says so once.
    replaceAtomically(certFile, second.certPem);
    await waitFor("the half-written rotation to be reported", () =>
      server.logs.some(
        (l) =>
          l.msg === "TLS files changed but cannot be used: still serving the previous certificate",
      ),
    );
    expect(await servedFingerprint(server.port, ca.certPem)).toBe(first.fingerprint);
    expect(await tlsHealthCheck(server.port, ca.certPem)).toBe("SERVING");

    // 2. The key follows: new connections get the new certificate.
    replaceAtomically(keyFile, second.keyPem);
    await waitFor(
      "a new connection to see the new certificate",
      async () => (await servedFingerprint(server.port, ca.certPem)) === second.fingerprint,
    );
    expect(await tlsHealthCheck(server.port, ca.certPem)).toBe("SERVING");
    const reloaded = server.logs.filter((l) => l.msg === "TLS certificate reloaded");
    expect(reloaded).toHaveLength(1);
    expect(reloaded[0]).toMatchObject({ serial: second.serial, subject: "CN=certmint.test" });
    expect(reloaded[0]?.notAfter).toEqual(expect.any(String));

    running = false;
    await loop;
    expect(failures).toEqual([]);
    expect(succeeded).toBeGreaterThan(0);
    expect(watchErrors).toEqual([]);
    expect(watchEnded).toBe(false);
    expect(watched).toEqual(["SERVING"]);
    watch.cancel();
    channel.close();

    const text = server.text();
    for (const key of [first.keyPem, second.keyPem]) {
      expect(text).not.toContain(key.split("\n")[1]);
    }
  });
});
