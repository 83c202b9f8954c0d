/**
 * A certificate issued before key usages had to agree with extended key usages (RFC 5280
 * 4.2.1.12, since stop 39 of 2026-12-05) is still renewed with the usages it was certified with:
 * a reviewer found its renewals, the automatic ones included, refused until it expired. A new
 * request with the same usages is refused.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presetSpec } from "../../src/issuance/policy-engine";
import { opensslOk } from "../support/openssl";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  expectRpcError,
  KeyAlgorithm,
  KeyUsage,
  RenewalKeySource,
  renewRequest,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

describe("renewing a certificate whose usages the new rule refuses", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    const spec = presetSpec("TLS_SERVER");
    spec.sans.dns = { allowed: ["**.example.com"], denied: [], required: false };
    spec.subject.COMMON_NAME = { allowed: ["*"], denied: [], required: false };
    spec.keyUsages = { allowed: [], required: [], denied: [] };
    spec.extendedKeyUsages = { allowed: ["CLIENT_AUTH"], required: ["CLIENT_AUTH"], denied: [] };
    await createProfileRows(h, { slug: "client", caId: root.id, spec });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("renews with the usages it was certified with; a new request with them is refused", async () => {
    const usages = [KeyUsage.KEY_USAGE_DIGITAL_SIGNATURE, KeyUsage.KEY_USAGE_KEY_ENCIPHERMENT];
    const request = (cn: string, keyUsages: KeyUsage[]) =>
      attrRequest("client", {
        cn,
        dns: [cn],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
        keyUsages,
      });
    const refused = await expectRpcError(
      call(h.certificates, "issueCertificate", request("new.example.com", usages)),
    );
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.violations.map((v) => v.reason)).toContain("KEY_USAGE_INCONSISTENT_WITH_EKU");
    // As an earlier certmint stored it: digitalSignature and keyEncipherment with clientAuth.
    const old = await call(
      h.certificates,
      "issueCertificate",
      request("old.example.com", [KeyUsage.KEY_USAGE_DIGITAL_SIGNATURE]),
    );
    await h.db.query(
      `update certificate set key_usages = '["DIGITAL_SIGNATURE","KEY_ENCIPHERMENT"]' where id = $1`,
      [old.certificate!.certificateId],
    );
    const renewed = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({
        certificateId: old.certificate!.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      }),
    );
    const text = opensslOk(["x509", "-noout", "-text"], renewed.certificate!.certificatePem);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/Extended Key Usage: \s+TLS Web Client Authentication/);
    const [row] = await h.db.query<{ key_usages: string[] }>(
      "select key_usages from certificate where id = $1",
      [renewed.certificate!.certificateId],
    );
    expect(row!.key_usages).toEqual(["DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"]);
  });
});
