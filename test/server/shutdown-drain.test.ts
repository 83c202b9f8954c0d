/**
 * The drain delay at SIGTERM (CERTMINT_SHUTDOWN_DRAIN_DELAY_MS, src/server/drain.ts): health
 * turns NOT_SERVING at once (the whole server "" and every certmint service), while a new
 * connection is still accepted and its calls served for the delay, since routers (Kubernetes
 * endpoints, load balancers) learn of the stop late. A SIGINT ends the delay (a second SIGTERM does not: npm and systemd each send one);
 * then the port closes, calls in flight finish and the process exits 0. Until stop 42 of
 * 2026-12-06 the port closed at the first SIGTERM, and the connections routers still sent were
 * refused. The same with CERTMINT_PROCESSES=2 (the supervisor's SIGINT reaches the
 * workers as a message).
 */
import { randomBytes, X509Certificate } from "node:crypto";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IssueCertificateResponse } from "../../gen/ts/certmint/v1/certificate_service";
import { createRootAndProfile } from "../support/fixtures";
import { call } from "../support/harness";
import { HealthClient } from "../support/health-client";
import { generatedKeyRequest } from "../support/issue-request";
import { certificateClientOnOwnConnection, OWN_CONNECTION } from "../support/own-connection";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  logLines,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "../support/server-process";
import { waitFor } from "../support/wait";

const SERVICES = [
  "",
  "certmint.v1.CertificateService",
  "certmint.v1.CertificateAuthorityService",
  "certmint.v1.CertificatePolicyService",
  "certmint.v1.CertificateProfileService",
];

/** Longer than any test here runs: the delay ends by a second signal, never by itself. */
const LONG_DELAY_MS = "300000";

/** grpc.health.v1 Check on a connection of its own (a client that arrives during the delay). */
function healthOnNewConnection(address: string, service: string): Promise<string> {
  // HealthClient is a grpc-js Client: its third argument is the channel options.
  const Own = HealthClient as unknown as new (
    ...args: [...ConstructorParameters<typeof HealthClient>, typeof OWN_CONNECTION]
  ) => InstanceType<typeof HealthClient>;
  const client = new Own(address, credentials.createInsecure(), OWN_CONNECTION);
  return new Promise((resolve, reject) => {
    client.check({ service }, { deadline: Date.now() + 60_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    });
  });
}

/** One IssueCertificate on a connection of its own; the certificate is checked and stored. */
async function issueOnNewConnection(
  server: ServerProcess,
  db: TestDatabase,
  token: string,
  rootPem: string,
  name: string,
): Promise<void> {
  const client = certificateClientOnOwnConnection(server.address, token);
  try {
    const res: IssueCertificateResponse = await call(
      client,
      "issueCertificate",
      generatedKeyRequest("web", name, { requestId: name }),
    );
    const cert = new X509Certificate(res.certificate!.certificatePem);
    expect(cert.subjectAltName).toBe(`DNS:${name}`);
    expect(cert.verify(new X509Certificate(rootPem).publicKey)).toBe(true);
    const rows = await db.query<{ n: string }>(
      "select count(*) as n from certificate_request r join certificate c on c.certificate_request_id = r.id where r.request_id = $1 and r.status = 'ISSUED'",
      [name],
    );
    expect(Number(rows[0]!.n)).toBe(1);
  } finally {
    client.close();
  }
}

describe.each([
  ["one process", "1"],
  ["CERTMINT_PROCESSES=2", "2"],
])("drain delay at SIGTERM, %s", { timeout: 2 * START_LIMIT_MS }, (_, processes) => {
  let db: TestDatabase;
  let server: ServerProcess;
  let token = "";
  let rootPem = "";

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_PROCESSES: processes,
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_SHUTDOWN_DRAIN_DELAY_MS: LONG_DELAY_MS,
    });
    if (processes !== "1") {
      await waitFor("every worker to serve", () =>
        logLines(server).some((l) => l.msg === "all worker processes serving"),
      );
    }
    token = server.adminToken();
    const { root } = await createRootAndProfile(server, db, token, {
      root: "drain-root",
      profile: "web",
    });
    rootPem = root.certificatePem;
  }, START_LIMIT_MS + 60_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) server.child.kill("SIGKILL");
    await db?.drop();
  });

  it("answers NOT_SERVING and still serves new connections, a second SIGTERM too, until a SIGINT; exits 0", async () => {
    const servers = () =>
      logLines(server).filter((l) => l.msg === "serving" && l.address !== undefined).length;
    const serving = servers();
    expect(serving).toBe(Number(processes));
    expect(await healthOnNewConnection(server.address, "")).toBe("SERVING");

    const exited = server.stop("SIGTERM");
    await waitFor("every serving process to be in its drain delay", () => {
      const delaying = logLines(server).filter(
        (l) => l.msg === "health NOT_SERVING; accepting and serving calls for the drain delay",
      );
      return delaying.length === serving;
    });
    for (const service of SERVICES) {
      expect(await healthOnNewConnection(server.address, service)).toBe("NOT_SERVING");
    }
    // The liveness service stays SERVING: the process is alive, only leaving.
    expect(await healthOnNewConnection(server.address, "certmint.liveness")).toBe("SERVING");
    // New connections during the delay are accepted and their calls served (several, so that
    // with two workers each is likely to get some: the supervisor hands connections in turn).
    for (let i = 0; i < 2 * serving; i++) {
      await issueOnNewConnection(server, db, token, rootPem, `during-drain-${i}.example.com`);
    }
    expect(server.child.exitCode).toBeNull();
    expect(
      logLines(server).some((l) => l.msg === "drain delay over: no longer accepting connections"),
    ).toBe(false);

    // A second SIGTERM is the same wish delivered twice (npm and systemd each send one): the
    // delay goes on, and a new connection is still served.
    server.child.kill("SIGTERM");
    await waitFor("the second SIGTERM to be logged and ignored", () =>
      logLines(server).some(
        (l) => l.signal === "SIGTERM" && String(l.msg).startsWith("already shutting down"),
      ),
    );
    await issueOnNewConnection(server, db, token, rootPem, "after-second-sigterm.example.com");
    expect(
      logLines(server).some((l) => l.msg === "drain delay over: no longer accepting connections"),
    ).toBe(false);

    // A Ctrl-C ends the delay: the port closes and the process exits 0.
    server.child.kill("SIGINT");
    const code = await exited;
    expect(code, server.output().split("\n").slice(-15).join("\n")).toBe(0);
    const over = logLines(server).filter(
      (l) => l.msg === "drain delay over: no longer accepting connections",
    );
    expect(over).toHaveLength(serving);
    expect(over.every((l) => l.ended === "skipped")).toBe(true);
    expect(logLines(server).filter((l) => l.msg === "stopped").length).toBeGreaterThanOrEqual(
      serving,
    );
  });
});

describe("a drain delay that runs out", { timeout: 2 * START_LIMIT_MS }, () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("ends by itself, then the server stops and exits 0", async () => {
    const server = await startServerProcess({
      DATABASE_URL: db.url,
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      CERTMINT_LOG_FORMAT: "json",
      CERTMINT_SHUTDOWN_DRAIN_DELAY_MS: "200",
    });
    expect(await server.stop("SIGTERM")).toBe(0);
    const over = logLines(server).find(
      (l) => l.msg === "drain delay over: no longer accepting connections",
    );
    expect(over).toMatchObject({ ended: "elapsed" });
    expect(logLines(server).some((l) => l.msg === "stopped")).toBe(true);
  });
});
