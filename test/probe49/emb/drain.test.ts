/**
 * Stop-49 outside probe: graceful stops of the embedded default (`make run`) with calls and a
 * watch stream in flight. The calls are RSA-4096 issuances, seen held by the server (its
 * key-generation gauges on /metrics) before the signal: they are in flight by an observed
 * state, not by a sleep.
 */
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRequestStatus } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { type CertmintClients, call, decodeError, makeClients } from "../../support/harness";
import { checkHealth, type ServerProcess, START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { WatchStream } from "../../support/watch-stream";
import {
  closeClients,
  createIssuingProfile,
  generatedKeyRequest,
  keyGenerationsHeld,
  startEmbedded,
} from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

describe("probe49 EMB: graceful stops of the embedded default with calls in flight", {
  timeout: 2 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe49-drain-"));
  const dataDir = join(base, "data");
  let server: ServerProcess;
  let c: CertmintClients;

  const issue = (name: string, requestId: string, keyAlgorithm: KeyAlgorithm) =>
    call(
      c.certificates,
      "issueCertificate",
      generatedKeyRequest("web", requestId, name, keyAlgorithm),
    );

  beforeAll(async () => {
    server = await startEmbedded(dataDir, {
      CERTMINT_SHUTDOWN_DRAIN_DELAY_MS: "120000",
      CERTMINT_METRICS_LISTEN: "127.0.0.1:0",
    });
    c = makeClients(server.address, server.adminToken());
    await createIssuingProfile(c);
  }, START_LIMIT_MS);
  afterAll(async () => {
    closeClients(c);
    await server?.stop("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  it("stops gracefully: in-flight issuances are answered, a watch stream ends UNAVAILABLE, health NOT_SERVING during the drain, exit 0", async () => {
    // Started with a drain delay (beforeAll), so that health can be asked while it drains.
    const watch = new WatchStream(c, {});
    await waitFor("the watch stream to open", () => watch.open);
    // RSA-4096 keys take a while to generate: these calls are held by the server at the SIGTERM
    // (its key-generation gauges say so, and none is answered yet).
    const answered: boolean[] = [];
    const inFlight = [1, 2, 3].map((i) =>
      issue(`drain-${i}.example.com`, `drain-${i}`, KeyAlgorithm.KEY_ALGORITHM_RSA_4096).then(
        (r) => {
          answered.push(true);
          return r;
        },
      ),
    );
    await waitFor(
      "the server to hold the issuances",
      async () => (await keyGenerationsHeld(server)) > 0,
    );
    const unanswered = 3 - answered.length;
    server.child.kill("SIGTERM");
    await waitFor(
      "health to say NOT_SERVING during the drain",
      async () => (await checkHealth(server.address)) === "NOT_SERVING",
    );
    const results = await Promise.all(inFlight);
    expect(unanswered).toBeGreaterThan(0);
    for (const r of results) {
      expect(r.status).toBe(ISSUED);
      expect(
        new X509Certificate(r.certificate!.certificatePem).publicKey.asymmetricKeyDetails,
      ).toMatchObject({ modulusLength: 4096 });
    }
    // A new call during the drain is still served (routers learn of the stop late).
    expect(
      (await issue("during-drain.example.com", "during-drain", KeyAlgorithm.KEY_ALGORITHM_EC_P256))
        .status,
    ).toBe(ISSUED);
    // SIGINT ends the drain delay (README).
    server.child.kill("SIGINT");
    await waitFor("the watch stream to end", () => watch.error !== undefined);
    expect(decodeError(watch.error).code).toBe(14);
    expect(await server.stop()).toBe(0);
  });

  it("at the default drain delay (none), a SIGTERM still answers the issuances in flight and exits 0; they are kept", async () => {
    closeClients(c);
    server = await startEmbedded(dataDir, { CERTMINT_METRICS_LISTEN: "127.0.0.1:0" });
    c = makeClients(server.address, server.adminToken());
    let settled = 0;
    const inFlight = [1, 2].map((i) =>
      issue(`term-${i}.example.com`, `term-${i}`, KeyAlgorithm.KEY_ALGORITHM_RSA_4096).finally(
        () => {
          settled += 1;
        },
      ),
    );
    await waitFor(
      "the server to hold the issuances",
      async () => (await keyGenerationsHeld(server)) > 0,
    );
    const unanswered = 2 - settled;
    expect(unanswered).toBeGreaterThan(0);
    const exit = server.stop();
    // Each is answered: ISSUED, or, if its RSA-4096 key was still being made when the shutdown
    // grace (CERTMINT_SHUTDOWN_GRACE_MS, 10 s) ran out, as on a loaded machine, UNAVAILABLE
    // SERVER_STOPPING (README), never left hanging or INTERNAL.
    const answers = await Promise.all(
      inFlight.map((p) =>
        p.then(
          (r) => ({ ok: r }) as const,
          (err: unknown) => ({ err: decodeError(err) }) as const,
        ),
      ),
    );
    for (const a of answers) {
      if ("ok" in a) expect(a.ok.status).toBe(ISSUED);
      else expect(a.err.code, a.err.message).toBe(14);
    }
    expect(await exit).toBe(0);
    closeClients(c);
    server = await startEmbedded(dataDir);
    c = makeClients(server.address, server.adminToken());
    // After the restart each request_id resolves to one certificate: the one answered, if it
    // was; for one answered UNAVAILABLE, what the retry the message asks for gets.
    for (const [i, a] of answers.entries()) {
      const replay = await issue(
        `term-${i + 1}.example.com`,
        `term-${i + 1}`,
        KeyAlgorithm.KEY_ALGORITHM_RSA_4096,
      );
      expect(replay.status).toBe(ISSUED);
      if ("ok" in a)
        expect(replay.certificate!.certificateId).toBe(a.ok.certificate!.certificateId);
    }
  });
});
