/**
 * Stop 46 (outside probe, F1): the log line of a call that issued a certificate names it (its
 * serial, certificate id, CA slug and id, notAfter), so the certificates issued since a backup
 * can be found again after a restore and put on a CRL; never its key, CSR or PEM. A call that
 * issued nothing (a replay of a request_id, a request left waiting for approval) names none.
 * IssueCertificate, RenewCertificate and ApproveCertificateRequest, on PostgreSQL.
 */
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApproveCertificateRequestResponse,
  CertificateRequestStatus,
  type CertificateServiceClient,
  type IssueCertificateResponse,
  RenewCertificateRequest,
  type RenewCertificateResponse,
  WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { createProfileRows, createRoot } from "../support/fixtures";
import { call, startTestCertmint, type TestCertmint } from "../support/harness";
import { generatedKeyRequest } from "../support/issue-request";
import { waitFor } from "../support/wait";

type Unary<Req, Res> = (
  req: Req,
  md: Metadata,
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

/** A unary call with an x-request-id of the test's choosing: its log line is found by it. */
function withRequestId<Req, Res>(
  client: CertificateServiceClient,
  method: Unary<Req, Res>,
  request: Req,
  requestId: string,
): Promise<Res> {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  return new Promise((resolve, reject) =>
    method.call(client, request, metadata, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

describe("the log line of a call that issued a certificate", () => {
  let h: TestCertmint;
  let caId = "";

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "logged-root");
    caId = root.id;
    await createProfileRows(h, { slug: "web", caId });
    // The admin may approve its own requests here: one token does both.
    await createProfileRows(h, {
      slug: "gated",
      caId,
      requireApproval: true,
      allowSelfApproval: true,
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const lineOf = (requestId: string) => {
    const lines = h.logs.filter((l) => l.msg === "call" && l.requestId === requestId);
    expect(lines).toHaveLength(1);
    return lines[0]!;
  };
  const certificates = () => h.certificates;

  it("IssueCertificate: names the serial the client received, its id, CA and notAfter; never the key", async () => {
    const res = await withRequestId(
      certificates(),
      certificates().issueCertificate as unknown as Unary<unknown, IssueCertificateResponse>,
      generatedKeyRequest("web", "logged.example.com", { requestId: "h46-issue" }),
      "trace-h46-issue",
    );
    const cert = res.certificate!;
    expect(res.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    const line = lineOf("trace-h46-issue");
    expect(line.code).toBe("OK");
    expect(line.issued).toEqual({
      certificateId: cert.certificateId,
      serial: cert.serialNumber,
      ca: "logged-root",
      caId,
      notAfter: cert.notAfter!.toISOString(),
    });
    const text = JSON.stringify(line);
    expect(text).not.toContain("PRIVATE KEY");
    expect(text).not.toContain("BEGIN");
    // The database agrees: the serial is that certificate's.
    const rows = await h.db.query<{ serial_number: string }>(
      "select serial_number from certificate where id = $1",
      [cert.certificateId],
    );
    expect(rows[0]!.serial_number.toLowerCase()).toBe(cert.serialNumber);

    // A replay of the request_id issues nothing: its line names no issuance.
    const again = await withRequestId(
      certificates(),
      certificates().issueCertificate as unknown as Unary<unknown, IssueCertificateResponse>,
      generatedKeyRequest("web", "logged.example.com", { requestId: "h46-issue" }),
      "trace-h46-replay",
    );
    expect(again.certificate!.serialNumber).toBe(cert.serialNumber);
    expect(lineOf("trace-h46-replay").issued).toBeUndefined();
  });

  it("RenewCertificate: names the successor's serial", async () => {
    const first = await call(
      certificates(),
      "issueCertificate",
      generatedKeyRequest("web", "renewed.example.com"),
    );
    const res = await withRequestId(
      certificates(),
      certificates().renewCertificate as unknown as Unary<unknown, RenewCertificateResponse>,
      RenewCertificateRequest.fromPartial({ certificateId: first.certificate!.certificateId }),
      "trace-h46-renew",
    );
    const successor = res.certificate!;
    expect(successor.serialNumber).not.toBe(first.certificate!.serialNumber);
    expect(lineOf("trace-h46-renew").issued).toEqual({
      certificateId: successor.certificateId,
      serial: successor.serialNumber,
      ca: "logged-root",
      caId,
      notAfter: successor.notAfter!.toISOString(),
    });
  });

  it("ApproveCertificateRequest: the approval's line names what it issued; the waiting request's none", async () => {
    const waiting = await withRequestId(
      certificates(),
      certificates().issueCertificate as unknown as Unary<unknown, IssueCertificateResponse>,
      generatedKeyRequest("gated", "approved.example.com"),
      "trace-h46-waiting",
    );
    expect(waiting.status).toBe(
      CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
    );
    expect(lineOf("trace-h46-waiting").issued).toBeUndefined();
    await withRequestId(
      certificates(),
      certificates().approveCertificateRequest as unknown as Unary<
        unknown,
        ApproveCertificateRequestResponse
      >,
      { certificateRequestId: waiting.certificateRequestId },
      "trace-h46-approve",
    );
    const status = await call(certificates(), "getRequestStatus", {
      certificateRequestId: waiting.certificateRequestId,
    });
    const cert = status.certificate!;
    expect(lineOf("trace-h46-approve").issued).toEqual({
      certificateId: cert.certificateId,
      serial: cert.serialNumber,
      ca: "logged-root",
      caId,
      notAfter: cert.notAfter!.toISOString(),
    });
  });

  // Stop 58 (an outside probe): a call the client cancels, or whose deadline passes, ends below
  // the interceptors; its line is written all the same, with the code the client sees.
  it("WatchCertificates: a stream the client cancels, and one whose deadline passes, are logged", async () => {
    const open = (requestId: string, deadline?: Date) => {
      const metadata = new Metadata();
      metadata.set("x-request-id", requestId);
      return certificates().watchCertificates(
        WatchCertificatesRequest.fromPartial({
          scope: { $case: "certificateProfile", value: "web" },
        }),
        metadata,
        deadline ? { deadline } : {},
      );
    };
    const cancelled = open("trace-h58-cancelled");
    cancelled.on("error", () => undefined);
    // Open once its first message (the stream's start) arrives, then cancelled.
    await new Promise((resolve) => cancelled.once("data", resolve));
    cancelled.cancel();
    await waitFor("the cancelled watch's log line", () =>
      h.logs.some((l) => l.msg === "call" && l.requestId === "trace-h58-cancelled"),
    );
    expect(lineOf("trace-h58-cancelled")).toMatchObject({
      method: "/certmint.v1.CertificateService/WatchCertificates",
      code: "CANCELLED",
    });

    const expired = open("trace-h58-deadline", new Date(Date.now() + 300));
    const ended = new Promise<ServiceError>((resolve) => expired.once("error", resolve));
    expired.on("data", () => undefined);
    expect((await ended).code).toBe(4); // DEADLINE_EXCEEDED
    await waitFor("the expired watch's log line", () =>
      h.logs.some((l) => l.msg === "call" && l.requestId === "trace-h58-deadline"),
    );
    expect(lineOf("trace-h58-deadline").code).toBe("DEADLINE_EXCEEDED");
  });
});
