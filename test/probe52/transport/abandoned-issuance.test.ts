/**
 * Probe 52 (TRANSPORT): an IssueCertificate (certmint generates the key) that its caller stops
 * waiting for while the server stores it: the deadline passes, the client cancels (RST_STREAM),
 * or the server is told to stop (SIGTERM). The store is held mid-issuance by another session's
 * lock on certificate_event, which the issuance's one storing statement writes (sign-then-store):
 * the test waits for the server's session to be blocked by that lock, a state, not a duration.
 * Whatever the server did, the certificate must either not exist or come back, with its key, to
 * the same caller replaying its request_id, and to no one else; a stop is UNAVAILABLE, never
 * INTERNAL.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { Metadata, status } from "@grpc/grpc-js";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateRequestStatus,
  type IssueCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import {
  callWith,
  type LiveCertmint,
  Role,
  rootPolicyProfile,
  startLive,
  token,
} from "../../probe49/api/live";
import { type CertmintClients, decodeError, makeClients } from "../../support/harness";
import { generatedKeyRequest } from "../../support/issue-request";
import { startServerProcess } from "../../support/server-process";
import { waitFor } from "../../support/wait";

/** A session holding certificate_event's ACCESS EXCLUSIVE lock, and who waits for it. */
async function lockHolder(url: string) {
  const session = new Client({ connectionString: url });
  await session.connect();
  const pid = (await session.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
  const blocked = async () =>
    Number(
      (
        await session.query<{ n: string }>(
          "select count(*) as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))",
          [pid],
        )
      ).rows[0]!.n,
    );
  return {
    async lock() {
      await session.query("begin");
      await session.query("lock table certificate_event in access exclusive mode");
    },
    blocked,
    release: () => session.query("rollback"),
    end: () => session.end(),
  };
}

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

function expectKeyOf(res: IssueCertificateResponse): void {
  const cert = new X509Certificate(res.certificate!.certificatePem);
  expect(cert.checkPrivateKey(createPrivateKey(res.privateKeyPem))).toBe(true);
}

describe("probe52 transport: an issuance its caller stops waiting for", () => {
  let live: LiveCertmint;
  let issuer: CertmintClients;
  let other: CertmintClients;

  beforeAll(async () => {
    live = await startLive();
    await rootPolicyProfile(live, "web");
    issuer = (await token(live, "issuer", Role.ROLE_ISSUER, ["web"])).clients;
    other = (await token(live, "other", Role.ROLE_ISSUER, ["web"])).clients;
  }, 240_000);
  afterAll(() => live?.stop());

  const certificatesNamed = (name: string) =>
    live.count("certificate", "sans::text like $1", [`%${name}%`]);

  /** Sends the request, stalls its store, ends the call by `abandon`, then releases the store. */
  async function abandonedMidStore(
    name: string,
    abandon: "deadline" | "cancel",
  ): Promise<{ code: number }> {
    const holder = await lockHolder(live.db.url);
    await holder.lock();
    const req = generatedKeyRequest("web", name, { requestId: name });
    let code: number | undefined;
    const c = issuer.certificates.issueCertificate(
      req,
      new Metadata(),
      // The deadline case: long enough to reach the store on a busy machine.
      { deadline: Date.now() + (abandon === "deadline" ? 8_000 : 120_000) },
      (err) => {
        code = err ? err.code : status.OK;
      },
    );
    // A deadline that passes before the store on a very busy machine ends the call first: the
    // outcome asked of it is the same.
    await waitFor(
      "the issuance's store blocked by the lock",
      async () => (await holder.blocked()) > 0 || code !== undefined,
    );
    if (abandon === "cancel") c.cancel();
    await waitFor("the call ended", () => code !== undefined);
    await holder.release();
    await waitFor("the store no longer blocked", async () => (await holder.blocked()) === 0);
    await holder.end();
    return { code: code! };
  }

  /** The caller's replay answers the certificate with its key; another caller never gets it. */
  async function replayedToItsCallerOnly(name: string): Promise<void> {
    const req = generatedKeyRequest("web", name, { requestId: name });
    const replay = await callWith<IssueCertificateResponse>(
      issuer.certificates,
      "issueCertificate",
      req,
      new Metadata(),
    );
    expect(replay.err && decodeError(replay.err)).toBeUndefined();
    expect(replay.res!.status).toBe(ISSUED);
    expectKeyOf(replay.res!);
    const again = await callWith<IssueCertificateResponse>(
      issuer.certificates,
      "issueCertificate",
      req,
      new Metadata(),
    );
    expect(again.res!.certificate!.certificateId).toBe(replay.res!.certificate!.certificateId);
    expect(again.res!.privateKeyPem).toBe(replay.res!.privateKeyPem);
    expect(await certificatesNamed(name)).toBe(1);
    // Another token's same request_id is its own request: never the first caller's key.
    const theirs = await callWith<IssueCertificateResponse>(
      other.certificates,
      "issueCertificate",
      req,
      new Metadata(),
    );
    if (theirs.res) {
      expect(theirs.res.certificate!.certificateId).not.toBe(
        replay.res!.certificate!.certificateId,
      );
      expect(theirs.res.privateKeyPem).not.toBe(replay.res!.privateKeyPem);
      const spki = (pem: string) =>
        createPublicKey(createPrivateKey(pem)).export({ type: "spki", format: "der" });
      if (theirs.res.privateKeyPem) {
        expect(spki(theirs.res.privateKeyPem).equals(spki(replay.res!.privateKeyPem))).toBe(false);
      }
    }
  }

  it("the deadline passes while it is stored: DEADLINE_EXCEEDED, and the replay gets the certificate and key", async () => {
    const { code } = await abandonedMidStore("deadline.example.com", "deadline");
    expect(code).toBe(status.DEADLINE_EXCEEDED);
    await replayedToItsCallerOnly("deadline.example.com");
  });

  it("the client cancels while it is stored: the replay gets the certificate and key, one certificate in all", async () => {
    const { code } = await abandonedMidStore("cancel.example.com", "cancel");
    expect(code).toBe(status.CANCELLED);
    await replayedToItsCallerOnly("cancel.example.com");
  });
});

describe("probe52 transport: SIGTERM while an issuance is stored", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive({ CERTMINT_SHUTDOWN_GRACE_MS: "1000" });
    await rootPolicyProfile(live, "web");
  }, 240_000);
  afterAll(() => live?.stop());

  it("past the grace period the call is UNAVAILABLE, not INTERNAL; after a restart the replay gets it or a new one, never two", async () => {
    const issuer = await token(live, "issuer", Role.ROLE_ISSUER, ["web"]);
    const name = "stopping.example.com";
    const req = generatedKeyRequest("web", name, { requestId: name });
    const holder = await lockHolder(live.db.url);
    await holder.lock();
    let ended: { code: number; reason?: string } | undefined;
    issuer.clients.certificates.issueCertificate(
      req,
      new Metadata(),
      { deadline: Date.now() + 120_000 },
      (err) => {
        ended = err ? { code: err.code, reason: decodeError(err).reason } : { code: status.OK };
      },
    );
    await waitFor(
      "the issuance's store blocked by the lock",
      async () => (await holder.blocked()) > 0,
    );
    live.server.child.kill("SIGTERM");
    await waitFor("the call ended", () => ended !== undefined);
    expect(ended!.code).toBe(status.UNAVAILABLE);
    await holder.release();
    await holder.end();
    await live.server.stop();
    // The same database and KEK, a new process: the caller replays its request_id.
    const again = await startServerProcess({
      DATABASE_URL: live.db.url,
      CERTMINT_KEK: live.kek,
      CERTMINT_LOG_FORMAT: "json",
    });
    const clients = makeClients(again.address, issuer.secret);
    try {
      const replay = await callWith<IssueCertificateResponse>(
        clients.certificates,
        "issueCertificate",
        req,
        new Metadata(),
      );
      expect(replay.err && decodeError(replay.err)).toBeUndefined();
      expect(replay.res!.status).toBe(ISSUED);
      expectKeyOf(replay.res!);
      expect(await live.count("certificate", "sans::text like $1", [`%${name}%`])).toBe(1);
    } finally {
      for (const c of Object.values(clients)) c.close();
      await again.stop();
    }
  });
});

describe("probe52 transport: SIGTERM while an issuance is stored, within the grace period", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive({ CERTMINT_SHUTDOWN_GRACE_MS: "600000" });
    await rootPolicyProfile(live, "web");
  }, 240_000);
  afterAll(() => live?.stop());

  it("the call in flight is answered with its certificate and key once the store goes on; the server exits 0", async () => {
    const issuer = await token(live, "issuer", Role.ROLE_ISSUER, ["web"]);
    const name = "draining.example.com";
    const holder = await lockHolder(live.db.url);
    await holder.lock();
    let ended: { err?: number; res?: IssueCertificateResponse } | undefined;
    issuer.clients.certificates.issueCertificate(
      generatedKeyRequest("web", name, { requestId: name }),
      new Metadata(),
      { deadline: Date.now() + 120_000 },
      (err, res) => {
        ended = err ? { err: err.code } : { res };
      },
    );
    await waitFor(
      "the issuance's store blocked by the lock",
      async () => (await holder.blocked()) > 0,
    );
    live.server.child.kill("SIGTERM");
    await waitFor("the server shutting down", () =>
      live.server.output().includes('"msg":"shutting down"'),
    );
    await holder.release();
    await holder.end();
    await waitFor("the call ended", () => ended !== undefined);
    expect(ended!.err).toBeUndefined();
    expect(ended!.res!.status).toBe(ISSUED);
    expectKeyOf(ended!.res!);
    expect(await live.server.stop()).toBe(0);
    expect(await live.count("certificate", "sans::text like $1", [`%${name}%`])).toBe(1);
  });
});
