/**
 * Probe 52 (POLICY): a CA whose name constraints permit one mailbox, under a policy that allows
 * every mailbox of the domain. RFC 5280 4.2.1.10 names a mailbox subtree by the whole address,
 * and OpenSSL compares its local part case-sensitively (RFC 5321 2.4: a local part may be
 * case-sensitive): a CA permitting `Alice@example.com` may certify `Alice@example.com`, and
 * `alice@example.com` fails verification under it. certmint must sign the first (it verifies)
 * and refuse the second (FAILED_PRECONDITION ISSUER_NAME_CONSTRAINTS, nothing stored).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import {
  attributesRequest,
  certificateCount,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { call, expectRpcError } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { sanText, strictVerify } from "./verify";

const A = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("probe52 policy: a permitted mailbox subtree and the local part's case", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";
  let interPem = "";

  beforeAll(async () => {
    live = await startLive();
    rootPem = (await createRootCa(live, "root", A, { maxPathLength: 2 })).certificatePem;
    const inter = await createIntermediateCa(live, {
      slug: "alice-only",
      parentCertificateAuthority: "root",
      subject: { commonName: "Alice Mail CA" },
      keyAlgorithm: A,
      nameConstraints: { permitted: { emailAddresses: ["Alice@example.com"] } },
    });
    interPem = inter.certificateAuthority!.certificatePem;
    await createPolicy(
      live,
      "mail",
      {
        sanRules: { email: { allowed: ["@example.com"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
      },
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_EMAIL_PROTECTION,
    );
    await createProfile(live, "mail", "mail", { ca: "alice-only" });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it("the CA shows the permitted mailbox as given", async () => {
    const got = await call(live.authorities, "getCertificateAuthority", {
      certificateAuthority: "alice-only",
    });
    const nc = got.certificateAuthority!.nameConstraints!;
    expect(nc.permitted!.emailAddresses).toEqual(["Alice@example.com"]);
  });

  it("the permitted mailbox itself is signed and verifies strictly", async () => {
    const r = await issueCertificate(
      live,
      attributesRequest("mail", { sans: { emailAddresses: ["Alice@example.com"] } }),
    ).catch((e: unknown) => e);
    if (r instanceof Error) {
      const e = await expectRpcError(Promise.reject(r));
      expect.fail(`refused the mailbox the CA permits: ${e.code} ${e.reason} ${e.message}`);
    }
    const pem = (r as { certificate: { certificatePem: string } }).certificate.certificatePem;
    expect(sanText(tmp, pem)).toBe("email:Alice@example.com");
    expect(strictVerify(tmp, pem, [rootPem], [interPem])).toMatch(/OK/);
  });

  it("the mailbox in another case, which OpenSSL refuses under the CA, is not signed", async () => {
    const before = await certificateCount(live.db);
    const r = await issueCertificate(
      live,
      attributesRequest("mail", { sans: { emailAddresses: ["alice@example.com"] } }),
    ).catch((e: unknown) => e);
    if (!(r instanceof Error)) {
      const pem = (r as { certificate: { certificatePem: string } }).certificate.certificatePem;
      // What a strict verifier says of what was signed, for the report.
      expect.fail(
        `signed alice@example.com; openssl: ${strictVerify(tmp, pem, [rootPem], [interPem])}`,
      );
    }
    const e = await expectRpcError(Promise.reject(r));
    expect(e.code, e.message).toBe(9);
    expect(e.reason, e.message).toBe("ISSUER_NAME_CONSTRAINTS");
    expect(await certificateCount(live.db)).toBe(before);
  });

  // RFC 5280 6.1.4 (g): a child CA permitting the same mailbox lies within its parent's subtree.
  it("a child CA permitting the same mailbox is within its parent's constraints", async () => {
    const r = await createIntermediateCa(live, {
      slug: "alice-child",
      parentCertificateAuthority: "alice-only",
      subject: { commonName: "Alice Mail CA 2" },
      keyAlgorithm: A,
      nameConstraints: { permitted: { emailAddresses: ["Alice@example.com"] } },
    }).catch((e: unknown) => e);
    if (r instanceof Error) {
      const e = await expectRpcError(Promise.reject(r));
      expect.fail(`refused: ${e.code} ${e.reason} ${e.message}`);
    }
  });
});
