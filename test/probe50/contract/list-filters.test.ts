/**
 * Stop 50, helper CONTRACT: list filters read as the proto words them. name_contains "contains
 * this text": the text, literally, so the SQL pattern characters '%', '_' and '\' match only
 * themselves; expires_before "whose notAfter is before this time"; status "only certificates
 * with this status".
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateStatus,
  CertificateView,
  ListCertificatesRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { attrRequest } from "../../certificates/helpers";
import { type LiveCertmint, rootPolicyProfile, startLive } from "../../probe49/api/live";
import { call, expectRpcError } from "../../support/harness";

describe("probe50 CONTRACT: ListCertificates filters", () => {
  let live: LiveCertmint;
  let revokedId: string;
  const list = (req: Partial<ListCertificatesRequest>) =>
    call(
      live.admin.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({
        pageSize: 1000,
        view: CertificateView.CERTIFICATE_VIEW_BASIC,
        ...req,
      }),
    ).then((r) => r.certificates);

  beforeAll(async () => {
    live = await startLive();
    await rootPolicyProfile(live, "web");
    for (const n of ["alpha", "beta", "gam-ma", "a1b"])
      await call(
        live.admin.certificates,
        "issueCertificate",
        attrRequest("web", { dns: [`${n}.example.com`], cn: `${n} service` }),
      );
    const revoked = await call(
      live.admin.certificates,
      "issueCertificate",
      attrRequest("web", { dns: ["gone.example.com"] }),
    );
    revokedId = revoked.certificate!.certificateId;
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: revokedId,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
  });
  afterAll(() => live.stop());

  it.each(["%", "_", "a_b", "\\", "%.example.com"])(
    "name_contains %j matches its characters literally (no certificate name has them): none listed",
    async (text) => {
      expect(
        (await list({ nameContains: text })).map((c) => c.subjectAlternativeNames!.dnsNames),
      ).toEqual([]);
    },
  );

  it("name_contains is case-insensitive and matches a part of a SAN or the CN", async () => {
    expect(
      (await list({ nameContains: "ALPHA" })).map((c) => c.subjectAlternativeNames!.dnsNames),
    ).toEqual([["alpha.example.com"]]);
    expect(
      (await list({ nameContains: "m-m" })).map((c) => c.subjectAlternativeNames!.dnsNames),
    ).toEqual([["gam-ma.example.com"]]);
    expect(await list({ nameContains: "beta serv" })).toHaveLength(1);
  });

  it("status REVOKED lists the revoked certificate only; ACTIVE leaves it out", async () => {
    expect(
      (await list({ status: CertificateStatus.CERTIFICATE_STATUS_REVOKED })).map((c) => c.id),
    ).toEqual([revokedId]);
    const active = await list({ status: CertificateStatus.CERTIFICATE_STATUS_ACTIVE });
    expect(active).toHaveLength(4);
    expect(active.map((c) => c.id)).not.toContain(revokedId);
  });

  it("expires_before a time before every notAfter lists none; after every notAfter lists all", async () => {
    expect(await list({ expiresBefore: new Date(Date.now() - 86_400_000) })).toEqual([]);
    expect(await list({ expiresBefore: new Date(Date.now() + 400 * 86_400_000) })).toHaveLength(5);
  });

  it("BASIC leaves the PEMs out, FULL returns them", async () => {
    const basic = await list({});
    expect(basic.every((c) => c.certificatePem === "" && c.certificateChainPem.length === 0)).toBe(
      true,
    );
    const full = await list({ view: CertificateView.CERTIFICATE_VIEW_FULL });
    expect(full.every((c) => c.certificatePem.startsWith("-----BEGIN CERTIFICATE-----"))).toBe(
      true,
    );
  });

  it("name_contains over 253 characters is INVALID_ARGUMENT naming name_contains", async () => {
    const err = await expectRpcError(list({ nameContains: "a".repeat(254) }));
    expect([err.code, err.violations.map((v) => v.field)]).toEqual([
      status.INVALID_ARGUMENT,
      ["name_contains"],
    ]);
  });
});
