/**
 * Stop 50, helper CONTRACT: request_id on IssueCertificate and RenewCertificate, as the proto
 * and README ("Lost answers, replays and replicas") promise it: the same token repeating a
 * request_id with the same request gets the same certificate (and key), never a second one; the
 * same request_id with any other request is ALREADY_EXISTS REQUEST_ID_REUSED naming the first
 * request, and writes nothing.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IssueCertificateRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { ExtendedKeyUsage, KeyAlgorithm, KeyUsage } from "../../../gen/ts/certmint/v1/common";
import { attrRequest, rpcError, seconds } from "../../certificates/helpers";
import {
  type LiveCertmint,
  Role,
  rootPolicyProfile,
  startLive,
  token,
} from "../../probe49/api/live";
import { call } from "../../support/harness";

describe("probe50 CONTRACT: request_id idempotency", () => {
  let live: LiveCertmint;
  let profileId: string;
  const rows = () =>
    Promise.all([live.count("certificate"), live.count("certificate_request")]).then(([c, r]) => ({
      c,
      r,
    }));
  const issue = (req: IssueCertificateRequest) =>
    call(live.admin.certificates, "issueCertificate", req);
  const renew = (req: Partial<RenewCertificateRequest>) =>
    call(live.admin.certificates, "renewCertificate", RenewCertificateRequest.fromPartial(req));

  beforeAll(async () => {
    live = await startLive();
    ({ profileId } = await rootPolicyProfile(live, "web"));
  });
  afterAll(() => live.stop());

  it("the same request_id and body returns the same certificate and key; naming the profile by id is the same body", async () => {
    const first = await issue(
      attrRequest("web", { requestId: "same-1", dns: ["same.example.com"] }),
    );
    const before = await rows();
    const again = await issue(
      attrRequest("web", { requestId: "same-1", dns: ["same.example.com"] }),
    );
    const byId = await issue(
      attrRequest(profileId, { requestId: "same-1", dns: ["same.example.com"] }),
    );
    for (const r of [again, byId]) {
      expect(r.certificateRequestId).toBe(first.certificateRequestId);
      expect(r.certificate!.certificateId).toBe(first.certificate!.certificateId);
      expect(r.certificate!.certificatePem).toBe(first.certificate!.certificatePem);
      expect(r.privateKeyPem).toBe(first.privateKeyPem);
    }
    expect(await rows()).toEqual(before);
  });

  it.each<[string, (r: IssueCertificateRequest) => IssueCertificateRequest]>([
    [
      "another name",
      (r) => attrRequest("web", { requestId: r.requestId, dns: ["other.example.com"] }),
    ],
    ["a TTL", (r) => ({ ...r, ttl: seconds(3600) })],
    [
      "another key algorithm",
      (r) =>
        attrRequest("web", {
          requestId: r.requestId,
          dns: ["diff.example.com"],
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P384,
        }),
    ],
    ["key usages", (r) => ({ ...r, keyUsages: [KeyUsage.KEY_USAGE_DIGITAL_SIGNATURE] })],
    [
      "extended key usages",
      (r) => ({ ...r, extendedKeyUsages: [ExtendedKeyUsage.EXTENDED_KEY_USAGE_SERVER_AUTH] }),
    ],
    ["a CA certificate", (r) => ({ ...r, caCertificate: {} })],
  ])(
    "the same request_id with %s is ALREADY_EXISTS REQUEST_ID_REUSED naming the first request, and writes nothing",
    async (what, change) => {
      const id = `diff-${what.replace(/ /g, "-")}`;
      const base = attrRequest("web", { requestId: id, dns: ["diff.example.com"] });
      const first = await issue(base);
      const before = await rows();
      const err = await rpcError(issue(change(base)));
      expect([err.code, err.reason]).toEqual([status.ALREADY_EXISTS, "REQUEST_ID_REUSED"]);
      expect(err.metadata.certificate_request_id).toBe(first.certificateRequestId);
      expect(await rows()).toEqual(before);
    },
  );

  it("a request_id of another token is not this token's: it issues its own certificate (per-token keys)", async () => {
    const first = await issue(
      attrRequest("web", { requestId: "per-token", dns: ["pt.example.com"] }),
    );
    const other = await token(live, "second-issuer", Role.ROLE_ISSUER, ["web"]);
    const mine = await call(
      other.clients.certificates,
      "issueCertificate",
      attrRequest("web", { requestId: "per-token", dns: ["pt.example.com"] }),
    );
    expect(mine.certificate!.certificateId).not.toBe(first.certificate!.certificateId);
  });

  it("a request_id over 128 characters, or with a leading space, is INVALID_ARGUMENT REQUEST_ID_INVALID on request_id; nothing written", async () => {
    const before = await rows();
    for (const requestId of ["x".repeat(129), " lead"]) {
      const err = await rpcError(
        issue(attrRequest("web", { requestId, dns: ["bad.example.com"] })),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.violations.map((v) => v.field)).toEqual(["request_id"]);
    }
    expect(await rows()).toEqual(before);
  });

  it("RenewCertificate: same request_id and body returns the same successor; another key source or TTL is REQUEST_ID_REUSED", async () => {
    const original = await issue(
      attrRequest("web", { requestId: "to-renew", dns: ["renew.example.com"] }),
    );
    const certId = original.certificate!.certificateId;
    const body = {
      certificateId: certId,
      requestId: "renew-1",
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    };
    const first = await renew(body);
    const before = await rows();
    const again = await renew(body);
    expect(again.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(again.privateKeyPem).toBe(first.privateKeyPem);
    // Named by serial, the same certificate: the same body.
    const bySerial = await renew({ ...body, certificateId: original.certificate!.serialNumber });
    expect(bySerial.certificate!.certificateId).toBe(first.certificate!.certificateId);
    for (const other of [
      { keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE },
      { ttl: seconds(7200) },
      { keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P384 },
    ]) {
      const err = await rpcError(renew({ ...body, ...other }));
      expect([Object.keys(other)[0], err.code, err.reason]).toEqual([
        Object.keys(other)[0],
        status.ALREADY_EXISTS,
        "REQUEST_ID_REUSED",
      ]);
      expect(err.metadata.certificate_request_id).toBe(first.certificateRequestId);
    }
    expect(await rows()).toEqual(before);
  });

  it("a request_id used for an issuance and repeated on a renewal is REQUEST_ID_REUSED, not a renewal, not the issuance's answer", async () => {
    const original = await issue(
      attrRequest("web", { requestId: "cross-rpc", dns: ["cross.example.com"] }),
    );
    const before = await rows();
    const err = await rpcError(
      renew({ certificateId: original.certificate!.certificateId, requestId: "cross-rpc" }),
    );
    expect([err.code, err.reason]).toEqual([status.ALREADY_EXISTS, "REQUEST_ID_REUSED"]);
    expect(await rows()).toEqual(before);
  });

  it("validate_only with a request_id stores nothing and does not take the request_id", async () => {
    const before = await rows();
    const dry = await issue({
      ...attrRequest("web", { requestId: "dry", dns: ["dry.example.com"] }),
      validateOnly: true,
    });
    expect(dry.certificateRequestId).toBe("");
    expect(await rows()).toEqual(before);
    const real = await issue(
      attrRequest("web", { requestId: "dry", dns: ["other-dry.example.com"] }),
    );
    expect(real.certificate!.certificateId).not.toBe("");
  });

  it("without request_id two identical calls make two certificates (no hidden deduplication)", async () => {
    const a = await issue(
      IssueCertificateRequest.fromPartial(attrRequest("web", { dns: ["twice.example.com"] })),
    );
    const b = await issue(
      IssueCertificateRequest.fromPartial(attrRequest("web", { dns: ["twice.example.com"] })),
    );
    expect(a.certificate!.certificateId).not.toBe(b.certificate!.certificateId);
  });

  it("six identical calls sent together with one request_id: one certificate, every answer the same", async () => {
    const before = await rows();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        issue(attrRequest("web", { requestId: "together", dns: ["together.example.com"] })),
      ),
    );
    expect(new Set(answers.map((a) => a.certificate!.certificateId)).size).toBe(1);
    expect(new Set(answers.map((a) => a.privateKeyPem)).size).toBe(1);
    expect(await rows()).toEqual({ c: before.c + 1, r: before.r + 1 });
  });

  it("calls sent together with one request_id and different names: one certificate; the others REQUEST_ID_REUSED", async () => {
    const before = await rows();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) =>
        issue(attrRequest("web", { requestId: "together-diff", dns: [`t${i}.example.com`] })),
      ),
    );
    const ok = outcomes.filter((o) => o.status === "fulfilled");
    expect(ok).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === "rejected")
        expect((o.reason as { code: number }).code).toBe(status.ALREADY_EXISTS);
    expect(await rows()).toEqual({ c: before.c + 1, r: before.r + 1 });
  });
});
