/**
 * Done means (issue 13): a certificate within its renewal window (TTL 5 minutes, on a profile
 * that renews 10 minutes before notAfter) is renewed by the server once the profile's automatic
 * renewal is switched on (after the watch has its CURRENT event, so the test waits for states,
 * never for a renewal time to come), and a client
 * whose only call is WatchCertificates receives the successor, its chain and its new private
 * key, on PostgreSQL and on the embedded database, each with the server run as `make run`
 * runs it. A second watch resumed from the first one's cursor receives the same event with
 * the same cursor (no miss, no duplicate); idle streams get KEEPALIVEs; stopping the server
 * ends the open watch with UNAVAILABLE (SERVER_STOPPING), so clients reconnect.
 */
import { createPublicKey, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CertificateEventType } from "../../gen/ts/certmint/v1/certificate_service";
import { type CertmintClients, decodeError, makeClients } from "../support/harness";
import { openssl, TempDir } from "../support/openssl";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { issueCertificateDueForRenewal, renewAutomatically } from "../support/renewal-due";
import { type ServerProcess, START_LIMIT_MS, startServerProcess } from "../support/server-process";
import { waitFor } from "../support/wait";
import { WatchStream as Watch } from "../support/watch-stream";

const T = CertificateEventType;

async function lifecycle(mode: "postgresql" | "embedded") {
  const tmp = new TempDir();
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-watch-"));
  let db: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  let c: CertmintClients | undefined;
  const watches: Watch[] = [];
  try {
    if (mode === "postgresql") db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({
      DATABASE_URL: db?.url ?? "",
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_RENEWAL_TICK_MS: "200",
      CERTMINT_WATCH_KEEPALIVE_MS: "1000",
    });
    c = makeClients(server.address, server.adminToken());
    const { root, issued } = await issueCertificateDueForRenewal(c, {
      rootName: "Watch Root",
      name: "svc.example.com",
    });
    const originalId = issued.certificate!.certificateId;

    // From here on the client only watches.
    const watch = new Watch(c, { scope: { $case: "certificateId", value: originalId } });
    watches.push(watch);
    await waitFor("the CURRENT event", () => watch.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0);
    const current = watch.of(T.CERTIFICATE_EVENT_TYPE_CURRENT)[0]!;
    expect(current.certificate!.id).toBe(originalId);
    expect(watch.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)).toEqual([]);

    // The profile starts renewing automatically: the certificate is due at once.
    await renewAutomatically(c);
    await waitFor(
      "the server to renew the certificate and the watch to receive it",
      () => watch.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).length > 0 || watch.error !== undefined,
      150_000,
    );
    expect(watch.error).toBeUndefined();
    const renewed = watch.of(T.CERTIFICATE_EVENT_TYPE_RENEWED)[0]!;
    expect(renewed.previousCertificateId).toBe(originalId);
    const successor = renewed.certificate!;
    expect(successor.renewedFromCertificateId).toBe(originalId);
    // It chains to the root (Node and openssl), names the same service, and its new key came
    // with it (the watcher is the certificate's owner).
    const x = new X509Certificate(successor.certificatePem);
    expect(x.verify(new X509Certificate(root.certificatePem).publicKey)).toBe(true);
    expect(renewed.issuingCertificateAuthorityPem).toBe(root.certificatePem);
    const verified = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      tmp.file("root.pem", root.certificatePem),
      tmp.file("leaf.pem", successor.certificatePem),
    ]);
    expect(verified.stdout + verified.stderr).toMatch(/: OK/);
    expect(x.subjectAltName).toBe("DNS:svc.example.com");
    expect(renewed.privateKeyPem).toContain("BEGIN PRIVATE KEY");
    expect(createPublicKey(renewed.privateKeyPem).export({ type: "spki", format: "der" })).toEqual(
      x.publicKey.export({ type: "spki", format: "der" }),
    );
    expect(x.publicKey.export({ type: "spki", format: "der" })).not.toEqual(
      new X509Certificate(issued.certificate!.certificatePem).publicKey.export({
        type: "spki",
        format: "der",
      }),
    );
    // Cursors increase along the stream; keepalives repeat the last one.
    const cursors = watch.events
      .filter((e) => e.type !== T.CERTIFICATE_EVENT_TYPE_KEEPALIVE)
      .map((e) => Number(e.cursor));
    expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
    await waitFor("a keepalive", () => watch.of(T.CERTIFICATE_EVENT_TYPE_KEEPALIVE).length > 0);
    const keepalive = watch.of(T.CERTIFICATE_EVENT_TYPE_KEEPALIVE).at(-1)!;
    expect(keepalive.certificate).toBeUndefined();

    // Resumed from the CURRENT cursor (a client that was away): the same RENEWED event, once.
    const resumed = new Watch(c, {
      scope: { $case: "certificateId", value: originalId },
      afterCursor: current.cursor,
    });
    watches.push(resumed);
    await waitFor(
      "the resumed watch to catch up",
      () => resumed.of(T.CERTIFICATE_EVENT_TYPE_KEEPALIVE).length > 0,
    );
    const again = resumed.of(T.CERTIFICATE_EVENT_TYPE_RENEWED);
    expect(again.map((e) => e.cursor)).toEqual([renewed.cursor]);
    expect(again[0]!.certificate!.id).toBe(successor.id);

    if (db) {
      const rows = await db.query<{ n: string }>(
        "select count(*) as n from certificate where renewed_from_id = $1",
        [originalId],
      );
      expect(Number(rows[0]!.n)).toBe(1);
    }

    // Stopping the server ends the open watches with UNAVAILABLE: clients reconnect.
    await server.stop();
    await waitFor("the watch to end", () => watch.error !== undefined);
    const ended = decodeError(watch.error);
    // With a RetryInfo since stop 43 of 2026-12-06 (an outside probe: none said when to retry).
    expect({ code: ended.code, reason: ended.reason, retry: ended.retryDelaySeconds }).toEqual({
      code: 14,
      reason: "SERVER_STOPPING",
      retry: 1,
    });
  } finally {
    for (const w of watches) w.cancel();
    for (const client of Object.values(c ?? {})) (client as Client).close();
    await server?.stop();
    await db?.drop();
    tmp.remove();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe("a server-renewed certificate reaches a watching client", {
  timeout: 2 * START_LIMIT_MS + 300_000,
}, () => {
  it("on PostgreSQL", () => lifecycle("postgresql"));
  it("on the embedded database", () => lifecycle("embedded"));
});
