/**
 * A usage the policy comes to require is added to renewals, as to a new request (the required
 * usages are always added: CertificatePolicy.key_usages.required). Until stop 41 of 2026-12-06 a
 * renewal kept the renewed certificate's usages only, and the policy refused it ("the policy
 * requires CLIENT_AUTH"): every renewal of the profile failed, server-driven ones included, until
 * the certificates expired (a review of that stop's approval fix).
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  call,
  compilePolicy,
  createProfileRows,
  createRoot,
  renewRequest,
  startTestCertmint,
  type TestCertmint,
  tlsServerSpec,
} from "./helpers";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

describe("renewal after the policy came to require a usage", () => {
  let h: TestCertmint;
  let policyId = "";
  const spec = tlsServerSpec();

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    spec.extendedKeyUsages = {
      allowed: ["SERVER_AUTH", "CLIENT_AUTH"],
      required: ["SERVER_AUTH"],
      denied: [],
    };
    ({ policyId } = await createProfileRows(h, { caId: root.id, slug: "web", spec }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("gets the newly required usage added, and is signed", async () => {
    const issued = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "renew.example.com", dns: ["renew.example.com"] }),
    );
    const before = new X509Certificate(issued.certificate!.certificatePem).keyUsage;
    expect([...before]).toEqual([SERVER_AUTH]);

    spec.extendedKeyUsages.required.push("CLIENT_AUTH");
    await h.db.query(
      "update certificate_policy set spec = $2, version = version + 1, updated_at = now() where id = $1",
      [policyId, JSON.stringify(compilePolicy(spec).spec)],
    );
    const renewed = await call(
      h.certificates,
      "renewCertificate",
      renewRequest({ certificateId: issued.certificate!.certificateId }),
    );
    const after = new X509Certificate(renewed.certificate!.certificatePem).keyUsage;
    expect([...after].sort()).toEqual([SERVER_AUTH, CLIENT_AUTH]);
  });
});
