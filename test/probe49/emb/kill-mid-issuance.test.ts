/**
 * Stop-49 outside probe: SIGKILL of the embedded default (`make run`) in the middle of a batch
 * of issuances, then a start on the same data directory.
 *
 * The kill comes at an observed state, not after a sleep: some calls of the batch answered, the
 * others held by the server (its key-generation gauges on /metrics; RSA-4096 keys take a while
 * to generate, so the batch is answered over time). After the
 * restart: no half-written rows (every certificate has its request, every ISSUED request its
 * certificate), and each request_id of the batch, replayed, resolves to one certificate: the one
 * its call got when it was answered.
 */
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateRequestStatus,
  type IssueCertificateResponse,
  ListCertificateRequestsRequest,
  ListCertificatesRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import { type ServerProcess, START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import {
  closeClients,
  createRootProfile,
  generatedKeyRequest,
  keyGenerationsHeld,
  startEmbedded,
} from "./support";

const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;
const BATCH = 6;

describe("probe49 EMB: SIGKILL mid-issuance on the embedded default, then a restart", {
  timeout: 3 * START_LIMIT_MS,
}, () => {
  const base = mkdtempSync(join(tmpdir(), "certmint-probe49-kill-"));
  const dataDir = join(base, "data");
  let server: ServerProcess;
  let c: CertmintClients;
  const answered = new Map<string, IssueCertificateResponse>();
  const sent: string[] = [];

  const request = (requestId: string) =>
    generatedKeyRequest(
      "web",
      requestId,
      `${requestId}.example.com`,
      KeyAlgorithm.KEY_ALGORITHM_RSA_4096,
    );

  beforeAll(async () => {
    server = await startEmbedded(dataDir, { CERTMINT_METRICS_LISTEN: "127.0.0.1:0" });
    c = makeClients(server.address, server.adminToken());
    await createRootProfile(c, "Kill Root");
  }, START_LIMIT_MS);
  afterAll(async () => {
    closeClients(c);
    await server?.stop("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  });

  it("is killed with some calls of a batch answered and some not", async () => {
    // A batch answered whole before the kill could come (a fast machine) proves nothing: again.
    for (let attempt = 1; ; attempt++) {
      expect(attempt, "a batch caught half answered").toBeLessThanOrEqual(5);
      const ids = Array.from({ length: BATCH }, (_, i) => `kill-${attempt}-${i}`);
      sent.push(...ids);
      let settled = 0;
      for (const id of ids) {
        call(c.certificates, "issueCertificate", request(id)).then(
          (res) => {
            answered.set(id, res);
            settled += 1;
          },
          () => {
            settled += 1;
          },
        );
      }
      await waitFor("a first answer of the batch", () => settled > 0, START_LIMIT_MS);
      // The server holds the rest (keys being generated or queued), not only the client.
      if (settled < BATCH && (await keyGenerationsHeld(server)) > 0) {
        server.child.kill("SIGKILL");
        await server.stop();
        break;
      }
    }
    expect(answered.size).toBeLessThan(sent.length);
  });

  it("starts again: no half-written rows, and every request_id resolves to one certificate, the one answered", async () => {
    closeClients(c);
    server = await startEmbedded(dataDir);
    c = makeClients(server.address, server.adminToken());

    const certificateOf = new Map<string, string>();
    for (const id of sent) {
      const replay = await call(c.certificates, "issueCertificate", request(id));
      expect(replay.status).toBe(ISSUED);
      const cert = replay.certificate!;
      expect(new X509Certificate(cert.certificatePem).subjectAltName).toBe(`DNS:${id}.example.com`);
      const before = answered.get(id);
      if (before) expect(cert.certificateId).toBe(before.certificate!.certificateId);
      // A second replay gives the same certificate again.
      const again = await call(c.certificates, "issueCertificate", request(id));
      expect(again.certificate!.certificateId).toBe(cert.certificateId);
      certificateOf.set(id, cert.certificateId);
      const status = await call(c.certificates, "getRequestStatus", {
        certificateRequestId: replay.certificateRequestId,
      });
      expect(status.certificateRequest).toMatchObject({
        status: ISSUED,
        requestId: id,
        certificateId: cert.certificateId,
      });
    }

    const requests = await call(
      c.certificates,
      "listCertificateRequests",
      ListCertificateRequestsRequest.fromPartial({ pageSize: 100 }),
    );
    const certificates = await call(
      c.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ pageSize: 100 }),
    );
    // Every request is ISSUED now: none left PENDING (being signed) or FAILED by the kill.
    expect(requests.certificateRequests).toEqual([]);
    // No certificate without its request, none twice.
    expect(certificates.certificates.map((x) => x.id).sort()).toEqual(
      [...certificateOf.values()].sort(),
    );
  });
});
