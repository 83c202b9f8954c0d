/**
 * Probe 52 (POLICY): a CSR that asks for a CA certificate with more than the policy gives. The
 * intermediate-CA preset allows path length 0; the issuing root allows 2. README "CA
 * certificates through a profile": the CSR's basicConstraints are read, "the path length
 * defaults to the policy's maximum ... and a larger one is refused". A CSR asking cA=TRUE with
 * pathLenConstraint 5 must be refused (INVALID_ARGUMENT, nothing stored), never signed with 5;
 * one asking cA=TRUE alone is signed with path length 0, keyCertSign and the policy's name
 * constraints, and passes `openssl verify -x509_strict`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import {
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { basicConstraints, keyUsage, OID, parseCert } from "../../probe49/cert/x509";
import { buildCsr } from "../../support/der-csr";
import { expectRpcError } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { strictVerify } from "./verify";

describe("probe52 policy: a CSR asking for a deeper CA than the policy allows", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";

  beforeAll(async () => {
    live = await startLive();
    rootPem = (
      await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256, { maxPathLength: 2 })
    ).certificatePem;
    await createPolicy(
      live,
      "sub-ca",
      {
        sanRules: { dns: { allowed: ["**.example.com"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
      },
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA,
    );
    await createProfile(live, "sub-ca", "sub-ca", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it("cA=TRUE with pathLenConstraint 5 is refused, nothing stored", async () => {
    const before = await certificateCount(live.db);
    const csr = buildCsr({ subject: [["CN", "Deep Team CA"]], ca: { pathLength: 5 } }).csrPem;
    const r = await issueCertificate(live, csrRequest("sub-ca", csr)).catch((e: unknown) => e);
    if (!(r instanceof Error)) {
      const pem = (r as { certificate: { certificatePem: string } }).certificate.certificatePem;
      const bc = basicConstraints(parseCert(pem).ext(OID.basicConstraints)!.value);
      expect.fail(`signed a CA certificate with path length ${bc.pathLen}`);
    }
    const e = await expectRpcError(Promise.reject(r));
    expect(e.code, e.message).toBe(3);
    expect(e.violations.length, e.message).toBeGreaterThan(0);
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("cA=TRUE alone is signed with path length 0, keyCertSign and name constraints", async () => {
    const csr = buildCsr({ subject: [["CN", "Team CA"]], ca: {} }).csrPem;
    const res = await issueCertificate(live, csrRequest("sub-ca", csr));
    const pem = res.certificate!.certificatePem;
    const cert = parseCert(pem);
    const bc = cert.ext(OID.basicConstraints)!;
    expect(bc.critical).toBe(true);
    expect(basicConstraints(bc.value)).toMatchObject({ ca: true, pathLen: 0 });
    expect(keyUsage(cert.ext(OID.keyUsage)!.value).bits).toContain("keyCertSign");
    const nc = cert.ext(OID.nameConstraints)!;
    expect(nc.critical).toBe(true);
    expect(nc.value.includes(Buffer.from("example.com"))).toBe(true);
    expect(strictVerify(tmp, pem, [rootPem], [], ["-purpose", "any"])).toMatch(/OK/);
  });
});
