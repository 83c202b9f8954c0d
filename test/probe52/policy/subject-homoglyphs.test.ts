/**
 * Probe 52 (POLICY): a denied subject value spelled with letters of another script that look
 * the same (UTS #39 confusables): "Evil Corp" with a Cyrillic Е or о, or a Greek Ε, reads as
 * "Evil Corp" in every viewer, as the invisible and compatibility spellings refused since stop
 * 49 did (test/probe49/cert/subject-lookalikes.test.ts). NFKC and case folding leave them
 * apart, so a denial compared on folded text misses them. Each must be refused (on its subject
 * field) or matched by the denial; none signed. A value in one script (Cyrillic "Эвил") is not
 * a look-alike and is signed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import {
  attributesRequest,
  certificateCount,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { expectRpcError } from "../../support/harness";

const SPELLINGS: Array<[string, string]> = [
  ["a Cyrillic capital IE (U+0415) for E", "\u0415vil Corp"],
  ["a Cyrillic small O (U+043E) for o", "Evil C\u043erp"],
  ["a Greek capital EPSILON (U+0395) for E", "\u0395vil Corp"],
  ["a Cyrillic small I (U+0456) for i", "Ev\u0456l Corp"],
];

describe("probe52 policy: mixed-script look-alikes of a denied subject value", () => {
  let live: LiveCertmint;

  beforeAll(async () => {
    live = await startLive();
    await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256);
    await createPolicy(live, "web", {
      sanRules: { dns: { allowed: ["**.example.com"] } },
      subjectRules: {
        commonName: { allowed: ["*"] },
        organization: { allowed: ["*"], denied: ["*Evil Corp*"] },
      },
    });
    await createProfile(live, "web", "web", { ca: "root" });
  });

  afterAll(async () => {
    await live?.stop();
  });

  const issueWithOrganization = (organization: string) =>
    issueCertificate(
      live,
      attributesRequest("web", {
        subject: { commonName: "o.example.com", organization: [organization] },
        sans: { dnsNames: ["o.example.com"] },
      }),
    );

  it.each(SPELLINGS)("an organization spelled with %s is refused", async (_what, value) => {
    const before = await certificateCount(live.db);
    const r = await issueWithOrganization(value).catch((e: unknown) => e);
    if (!(r instanceof Error)) expect.fail(`signed the organization ${JSON.stringify(value)}`);
    const e = await expectRpcError(Promise.reject(r));
    expect(e.code, e.message).toBe(3);
    expect(e.violations.map((v) => v.field).join(), e.message).toMatch(/organization/);
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("a value in one non-Latin script is not a look-alike and is signed", async () => {
    const res = await issueWithOrganization("\u042d\u0432\u0438\u043b \u041a\u043e\u0440\u043f");
    expect(res.certificate!.certificatePem).toBeTruthy();
  });
});
