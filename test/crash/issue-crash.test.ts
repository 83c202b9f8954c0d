/**
 * Crash safety of IssueCertificate: the real server process is killed with SIGKILL while 32
 * clients issue certificates, restarted on the same database, and every request_id that was
 * sent is replayed (twice at once, so two replays race for each orphan). Whatever the moment
 * of the kill, the outcome must be the same:
 *  - every certificate a client received is stored, and its replay returns it (id and serial);
 *  - no serial is used twice, no request has two certificates, no request_id two rows;
 *  - the kill leaves no request half done: nothing of a request is written before the one
 *    commit that stores it with its certificate, so no row is PENDING at the kill, and a
 *    request_id whose call died before its commit has no row at all;
 *  - every request ends ISSUED, its certificate under the serial kept on it (a request_id
 *    without a row is simply issued by its replay; the twin replays may both sign, one store
 *    wins, and the other answers what it stored, however long the machine takes);
 *  - every replay of a request with a server-generated key returns that key, matching the
 *    certificate, also when the kill lost the first answer (the key waits sealed on the
 *    request for the replay window).
 * How many calls were in flight at the kill, and how many answers it lost, depends on timing
 * and is only reported. The kill
 * comes on a state (enough certificates received), never after a duration, so a busy machine
 * only makes the test slower.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CertificateRequestStatus } from "../../gen/ts/certmint/v1/certificate_service";
import { createRootAndProfile } from "../support/fixtures";
import { certificateClientOnOwnConnection } from "../support/own-connection";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type ServerProcess, startServerProcess } from "../support/server-process";
import {
  clientLoop,
  csrPool,
  issue,
  newLedger,
  type Received,
  receivedOf,
  type Source,
} from "./clients";

/**
 * 24 CSR clients, 4 generating EC_P256 keys, 4 generating Ed25519 keys. (No RSA: its keys are
 * made on a worker thread at the lowest scheduling priority, which a machine kept busy at
 * normal priority starves for tens of seconds per key; that is a limit of RSA key generation,
 * not of crash safety, and test/auth/limits.test.ts covers slow RSA calls.)
 */
const CLIENTS: Source[] = [
  ...Array<Source>(24).fill("CSR"),
  ...Array<Source>(4).fill("EC_P256"),
  ...Array<Source>(4).fill("ED25519"),
];
/** The kill comes once this many certificates were received (with calls of every kind in flight). */
const KILL_AFTER_SUCCESSES = 200;
const REPLAY_CONCURRENCY = 16;

const errorCount = (ledger: { errors: Map<string, number> }) =>
  [...ledger.errors.values()].reduce((a, b) => a + b, 0);

describe("IssueCertificate survives SIGKILL of the server", () => {
  let db: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "certmint-crash-"));

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every received certificate, leaves nothing half done, and issues every request once", async () => {
    db = await createTestDatabase("certmint_crash");
    // Same database and data directory (it holds the key-encryption key) for both processes.
    // Log level info: startServerProcess waits for the "serving" line.
    const env = {
      DATABASE_URL: db.url,
      CERTMINT_DATA_DIR: dataDir,
      CERTMINT_LOG_LEVEL: "info",
    };
    server = await startServerProcess(env);

    const { profile } = await createRootAndProfile(server, db, server.adminToken(), {
      root: "crash-root",
      profile: "crash-web",
    });
    const csrs = await csrPool(64);

    // 1. Load, then SIGKILL while calls are in flight.
    const ledger = newLedger();
    let killed = false;
    let successes = 0;
    let killNow: () => void = () => undefined;
    const killSignal = new Promise<void>((resolve) => {
      killNow = resolve;
    });
    const clients = CLIENTS.map(() =>
      certificateClientOnOwnConnection(server!.address, server!.adminToken()),
    );
    const loops = CLIENTS.map((source, i) =>
      clientLoop({
        client: clients[i]!,
        name: `c${i}-${source === "CSR" ? "csr" : source === "EC_P256" ? "ec" : "ed"}`,
        source,
        profile,
        csrs,
        ledger,
        stopped: () => killed,
        onSuccess: () => {
          if (++successes >= KILL_AFTER_SUCCESSES) killNow();
        },
      }),
    );
    await killSignal;
    killed = true; // no new calls; the ones in flight meet the kill
    const inFlight = ledger.sent.size - ledger.received.size - errorCount(ledger);
    await server.stop("SIGKILL");
    await Promise.all(loops);
    for (const c of clients) c.close();

    // 2. What the kill left behind, before anything else touches the database.
    const atKill = await db.query<{ status: string; n: string }>(
      "select status, count(*) as n from certificate_request group by status order by status",
    );
    const pendingAtKill = await db.query<{ request_id: string }>(
      "select request_id from certificate_request where status = 'PENDING'",
    );
    const issuedAtKill = await db.query<{ request_id: string }>(
      "select request_id from certificate_request where status = 'ISSUED'",
    );
    const lostAnswers = issuedAtKill.filter((r) => !ledger.received.has(r.request_id));
    const rowsAtKill = atKill.reduce((n, r) => n + Number(r.n), 0);

    // 3. Restart on the same database and replay every request_id sent, twice at once.
    server = await startServerProcess(env);
    const replayClients = Array.from({ length: REPLAY_CONCURRENCY }, () =>
      certificateClientOnOwnConnection(server!.address, server!.adminToken()),
    );
    const replays = new Map<string, [Received, Received]>();
    const replayErrors: string[] = [];
    const queue = [...ledger.sent.keys()];
    await Promise.all(
      replayClients.map(async (client) => {
        for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
          const { request } = ledger.sent.get(id)!;
          try {
            const [a, b] = await Promise.all([issue(client, request), issue(client, request)]);
            for (const r of [a, b])
              expect(r.status, id).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED);
            replays.set(id, [receivedOf(a), receivedOf(b)]);
          } catch (err) {
            replayErrors.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }),
    );
    for (const c of replayClients) c.close();

    const lostKeys = lostAnswers.filter((r) => ledger.sent.get(r.request_id)?.source !== "CSR");
    const errorSummary = [...ledger.errors].map(([k, v]) => `${k} x${v}`).join(", ");
    console.log(
      `crash test: ${ledger.sent.size} requests sent by ${CLIENTS.length} clients, ` +
        `${ledger.received.size} certificates received before the kill, ${inFlight} calls in flight at the kill ` +
        `(client errors: ${errorSummary || "none"}); rows at the kill: ` +
        `${atKill.map((r) => `${r.status} ${r.n}`).join(", ")}; request_ids sent without a row: ${ledger.sent.size - rowsAtKill}; ` +
        `PENDING at the kill: ${pendingAtKill.length} ` +
        `(${pendingAtKill.map((r) => r.request_id).join(" ")}); ISSUED but never received: ${lostAnswers.length} ` +
        `(${lostAnswers.map((r) => r.request_id).join(" ")}), of which ${lostKeys.length} with a generated key ` +
        `that the replay returned; replayed ${replays.size} request_ids twice each` +
        (replayErrors.length ? `; replay errors: ${replayErrors.slice(0, 5).join(" | ")}` : ""),
    );

    // Nothing half done at the kill: the sign-then-store path never writes a PENDING row.
    expect(pendingAtKill).toEqual([]);

    // Every replay answered, twice the same certificate.
    expect(replayErrors).toEqual([]);
    expect(replays.size).toBe(ledger.sent.size);
    for (const [id, [a, b]] of replays) {
      expect(b.certificateId, id).toBe(a.certificateId);
      expect(b.serialNumber, id).toBe(a.serialNumber);
      expect(b.certificateRequestId, id).toBe(a.certificateRequestId);
      // A generated key is never lost: both replays return it, and it is the certificate's.
      if (ledger.sent.get(id)!.source === "CSR") continue;
      expect(a.privateKeyPem, id).not.toBe("");
      expect(b.privateKeyPem, id).toBe(a.privateKeyPem);
      expect(
        new X509Certificate(a.certificatePem).checkPrivateKey(createPrivateKey(a.privateKeyPem)),
        id,
      ).toBe(true);
      const received = ledger.received.get(id);
      if (received) expect(a.privateKeyPem, id).toBe(received.privateKeyPem);
    }

    // Every certificate received before the kill is stored, and its replay returns it.
    const stored = new Map(
      (
        await db.query<{ id: string; serial_number: string; certificate_pem: string }>(
          "select id, serial_number, certificate_pem from certificate",
        )
      ).map((r) => [r.id, r]),
    );
    for (const [id, got] of ledger.received) {
      const row = stored.get(got.certificateId);
      expect(row, `certificate of ${id}`).toBeDefined();
      expect(row!.serial_number, id).toBe(got.serialNumber);
      expect(row!.certificate_pem, id).toBe(got.certificatePem);
      const [replayed] = replays.get(id)!;
      expect(replayed.certificateId, id).toBe(got.certificateId);
      expect(replayed.serialNumber, id).toBe(got.serialNumber);
      expect(replayed.certificateRequestId, id).toBe(got.certificateRequestId);
    }

    // No serial twice (the unique index guards it too), no request with two certificates.
    expect(
      await db.query(
        "select ca_id, serial_number, count(*) from certificate group by ca_id, serial_number having count(*) > 1",
      ),
    ).toEqual([]);
    expect(
      await db.query(
        "select certificate_request_id, count(*) from certificate group by certificate_request_id having count(*) > 1",
      ),
    ).toEqual([]);

    // Exactly one request row per request_id sent, each ISSUED with its one certificate, signed
    // under the serial the request keeps (reserved_serial).
    const requests = await db.query<{
      id: string;
      request_id: string;
      status: string;
      reserved_serial: string | null;
      certificate_id: string | null;
      cert_request_id: string | null;
      serial_number: string | null;
    }>(
      `select r.id, r.request_id, r.status, r.reserved_serial, r.certificate_id,
              c.certificate_request_id as cert_request_id, c.serial_number
         from certificate_request r left join certificate c on c.id = r.certificate_id`,
    );
    expect(
      await db.query(
        "select caller, request_id, count(*) from certificate_request group by caller, request_id having count(*) <> 1",
      ),
    ).toEqual([]);
    expect(requests.map((r) => r.request_id).sort()).toEqual([...ledger.sent.keys()].sort());
    for (const r of requests) {
      expect({ id: r.request_id, status: r.status }).toEqual({
        id: r.request_id,
        status: "ISSUED",
      });
      expect(r.cert_request_id, r.request_id).toBe(r.id);
      expect(r.serial_number, r.request_id).toBe(r.reserved_serial);
      const [replayed] = replays.get(r.request_id)!;
      expect(replayed.certificateId, r.request_id).toBe(r.certificate_id);
      expect(
        new X509Certificate(replayed.certificatePem).serialNumber.toLowerCase(),
        r.request_id,
      ).toBe(r.serial_number!.toLowerCase());
    }
    expect(stored.size).toBe(ledger.sent.size);
  }, 300_000);
});
