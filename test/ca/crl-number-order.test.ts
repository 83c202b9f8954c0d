/**
 * A CRL never lists fewer revocations than a CRL of the same CA numbered before it (RFC 5280
 * 5.2.3: relying parties keep the CRL with the highest cRLNumber). The number is taken and the
 * entries read in one transaction holding the CA's row, so a CRL numbered after another waits
 * for it and reads after it. Until stop 45 of 2026-12-06 the number was taken in a statement of
 * its own: signer A took #N, signer B took #N+1 and read its entries, a revocation committed,
 * then A read its entries; A's #N listed a revocation B's #N+1 did not (an outside probe, two
 * replicas: 4 of 14 runs).
 *
 * Made deterministic here: signer A is paused just after it took its number, B signs, a
 * certificate is revoked, then A goes on. Run in-process against the test server's database
 * and key-encryption key, with the store A uses wrapped to pause it.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { currentCrl, type SignedCrl } from "../../src/issuance/ca/crl";
import { openKeyring } from "../../src/issuance/ca/keyring";
import type { Store } from "../../src/issuance/repositories";
import { type Database, openDatabase } from "../../src/store/database";
import { createStore, kekCheckStore } from "../../src/store/store";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { opensslOk } from "../support/openssl";
import { until } from "../support/wait";

describe("CRL numbers and their entries", () => {
  let h: TestCertmint;
  let database: Database;
  let store: Store;
  let keyring: Awaited<ReturnType<typeof openKeyring>>["keyring"];
  let caId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    caId = root.id;
    await createProfileRows(h, { caId, slug: "web" });
    const config = loadConfig({ DATABASE_URL: h.db.url, CERTMINT_DATA_DIR: h.dataDir });
    database = await openDatabase({ databaseUrl: h.db.url, dataDir: h.dataDir });
    store = createStore(database.orm, { databaseUrl: h.db.url });
    ({ keyring } = await openKeyring(config, kekCheckStore(database.orm)));
  });
  afterAll(async () => {
    await database?.close();
    await h?.stop();
  });

  const deps = (s: Store) => ({
    store: s,
    keyring,
    now: () => new Date(),
    crlValiditySeconds: 86_400,
  });
  const issue = async () =>
    (
      await call(
        h.certificates,
        "issueCertificate",
        generatedKeyRequest("web", `${randomUUID().slice(0, 8)}.example.com`),
      )
    ).certificate!;
  const revoke = (id: string) =>
    call(h.certificates, "revokeCertificate", { certificate: id, reason: 1 });
  /** The serials a CRL lists, as openssl reads them. */
  const serials = (crl: SignedCrl) =>
    [
      ...opensslOk(["crl", "-noout", "-text"], pemOf(crl.der)).matchAll(
        /Serial Number: ([0-9A-F]+)/g,
      ),
    ].map((m) => m[1]!);
  const pemOf = (der: Buffer) =>
    `-----BEGIN X509 CRL-----\n${der.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END X509 CRL-----\n`;
  /** Sessions of the test database waiting for a lock (not granted). */
  const waitingForLock = async () =>
    Number(
      (
        await h.db.query<{ n: string }>(
          `select count(*) as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
            where not l.granted and a.datname = current_database()`,
        )
      )[0]!.n,
    );

  it("a CRL numbered after another lists every revocation the other lists", async () => {
    const first = await issue();
    await revoke(first.certificateId);
    const late = await issue();

    // Signer A: paused just after nextCrl gave it its number.
    let resumeA!: () => void;
    const paused = new Promise<void>((r) => {
      resumeA = r;
    });
    let aHasNumber = false;
    // Whether nextCrl runs in the CRL's transaction or alone (as before stop 45), A pauses.
    const pausingCas = (cas: Store["cas"]): Store["cas"] =>
      Object.assign(Object.create(cas), {
        nextCrl: async (id: string, now: Date) => {
          const slot = await cas.nextCrl(id, now);
          aHasNumber = true;
          await paused;
          return slot;
        },
      });
    const pausing: Store = {
      ...store,
      cas: pausingCas(store.cas),
      transaction: (fn) => store.transaction((tx) => fn({ ...tx, cas: pausingCas(tx.cas) })),
    };
    const a = currentCrl(deps(pausing), caId);
    await until("signer A to hold its number", () => aHasNumber);

    // Signer B, and a revocation: each either completes, or waits for A's transaction.
    let bDone = false;
    const b = currentCrl(deps(store), caId).finally(() => {
      bDone = true;
    });
    await until(
      "signer B to sign or wait for A",
      async () => bDone || (await waitingForLock()) > 0,
    );
    let revoked = false;
    const revocation = revoke(late.certificateId).finally(() => {
      revoked = true;
    });
    await until(
      "the revocation to commit or wait for A",
      async () => revoked || (await waitingForLock()) > (bDone ? 0 : 1),
    );
    resumeA();
    const [crlA, crlB] = await Promise.all([a, b]);
    await revocation;

    expect(crlB.crlNumber).toBeGreaterThan(crlA.crlNumber);
    const listedByA = serials(crlA);
    const listedByB = serials(crlB);
    expect(listedByA.length).toBeGreaterThan(0);
    for (const serial of listedByA) expect(listedByB).toContain(serial);
  });
});
