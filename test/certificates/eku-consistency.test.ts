/**
 * Purposes over gRPC (probe39 F2, F3): a time-stamping certificate carries id-kp-timeStamping
 * alone in a critical extKeyUsage and OpenSSL accepts it for timestampsign (RFC 3161 2.3);
 * timeStamping beside another purpose, and key usages inconsistent with the purposes
 * (RFC 5280 4.2.1.12, zlint e_key_usage_and_extended_key_usage_inconsistent), are refused with
 * a field violation and write no certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { compilePolicy, presetSpec } from "../../src/issuance/policy-engine";
import { byCa, createProfileRpc } from "../profiles/helpers";
import {
  Code,
  certText,
  createProfileRows,
  createRoot,
  ExtendedKeyUsage as Eku,
  extensionBlock,
  issue,
  issueRequest,
  KeyUsage as Ku,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  verifyLeaf,
  violationKeys,
} from "./helpers";

/** A policy that lets the requester choose the usages (as the probe's pol-free did). */
function freeSpec() {
  const spec = presetSpec("TLS_SERVER");
  spec.subject.COMMON_NAME = { allowed: ["*"], denied: [], required: false };
  spec.sans.dns = { allowed: ["**.example.com"], denied: [], required: false };
  spec.keyUsages = { allowed: [], required: [], denied: [] };
  spec.extendedKeyUsages = {
    allowed: ["SERVER_AUTH", "CLIENT_AUTH", "CODE_SIGNING", "TIME_STAMPING"],
    required: [],
    denied: [],
  };
  compilePolicy(spec);
  return spec;
}

const request = (cn: string, keyUsages: Ku[], extendedKeyUsages: Eku[]) =>
  issueRequest({
    certificateProfile: "free",
    source: { $case: "attributes", value: { subject: { commonName: cn } } },
    keyUsages,
    extendedKeyUsages,
  });

describe("purposes of issued certificates", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "free", spec: freeSpec() });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("issues a time-stamping certificate with a critical extKeyUsage of timeStamping only, fit for timestampsign", async () => {
    const res = await issue(
      h,
      request(
        "Example TSA",
        [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
        [Eku.EXTENDED_KEY_USAGE_TIME_STAMPING],
      ),
    );
    const pem = res.certificate!.certificatePem;
    const eku = extensionBlock(certText(tmp, pem), "X509v3 Extended Key Usage");
    expect(eku.critical).toBe(true);
    expect(eku.body.trim()).toBe("Time Stamping");
    const verify = verifyLeaf(tmp, root.certificatePem, pem, ["-purpose", "timestampsign"]);
    expect(verify.stdout + verify.stderr).toContain(": OK");
    expect(verify.code).toBe(0);
  });

  it("refuses timeStamping beside another purpose, and writes no certificate", async () => {
    const before = await rowCounts(h);
    const err = await rpcError(
      issue(
        h,
        request(
          "Example TSA",
          [Ku.KEY_USAGE_DIGITAL_SIGNATURE],
          [Eku.EXTENDED_KEY_USAGE_TIME_STAMPING, Eku.EXTENDED_KEY_USAGE_SERVER_AUTH],
        ),
      ),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(violationKeys(err.violations)).toEqual([
      "extended_key_usages EXTENDED_KEY_USAGE_TIME_STAMPING_NOT_ALONE",
    ]);
    const [v] = err.violations;
    expect(v!.description).toContain("TIME_STAMPING cannot be combined with SERVER_AUTH");
    expect(v!.description).toContain("RFC 3161 2.3");
    expect((await rowCounts(h)).certificates).toBe(before.certificates);
  });

  it.each([
    // The probe's leaf-kueku-srv-cc: serverAuth with nonRepudiation only.
    [
      "SERVER_AUTH",
      Ku.KEY_USAGE_CONTENT_COMMITMENT,
      Eku.EXTENDED_KEY_USAGE_SERVER_AUTH,
      "[DIGITAL_SIGNATURE] or [KEY_AGREEMENT] or [DIGITAL_SIGNATURE, KEY_AGREEMENT]",
    ],
    // codeSigning with keyAgreement only.
    [
      "CODE_SIGNING",
      Ku.KEY_USAGE_KEY_AGREEMENT,
      Eku.EXTENDED_KEY_USAGE_CODE_SIGNING,
      "[DIGITAL_SIGNATURE]",
    ],
  ] as const)(
    "refuses %s with key usages it is inconsistent with, and writes no certificate",
    async (name, ku, eku, fits) => {
      const before = await rowCounts(h);
      const err = await rpcError(issue(h, request("inconsistent.example.com", [ku], [eku])));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("POLICY_VIOLATION");
      expect(violationKeys(err.violations)).toEqual(["key_usages KEY_USAGE_INCONSISTENT_WITH_EKU"]);
      const [v] = err.violations;
      expect(v!.description).toContain(`inconsistent with ${name}`);
      expect(v!.description).toContain("RFC 5280 4.2.1.12");
      expect(v!.description).toContain(`${name}: ${fits}`);
      expect((await rowCounts(h)).certificates).toBe(before.certificates);
    },
  );

  it("refuses a profile whose default usages are inconsistent", async () => {
    const err = await rpcError(
      createProfileRpc(h, {
        slug: "bad-defaults",
        certificatePolicy: "free-policy",
        issuer: byCa("root"),
        defaults: {
          keyUsages: [Ku.KEY_USAGE_KEY_AGREEMENT],
          extendedKeyUsages: [Eku.EXTENDED_KEY_USAGE_CODE_SIGNING],
        },
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(violationKeys(err.violations)).toEqual([
      "certificate_profile.defaults.key_usages KEY_USAGE_INCONSISTENT_WITH_EKU",
    ]);
  });
});
