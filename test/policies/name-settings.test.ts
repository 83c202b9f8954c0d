/**
 * The policy settings of issue 17 over gRPC: subject_names_in_sans (COPY when unspecified)
 * and NameRule.allow_sub_addresses (email only), stored canonically, shown, updated by mask,
 * and refused where they do not apply.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SubjectNamesInSans } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { createPolicyRpc, days, policyMessage, policyRow } from "./helpers";

describe("subject_names_in_sans and allow_sub_addresses", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("defaults to COPY, stores nothing for it, and shows it", async () => {
    const p = await createPolicyRpc(h, { slug: "default-copy", maxTtl: days(1) });
    expect(p.subjectNamesInSans).toBe(SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_COPY);
    expect((await policyRow(h, "default-copy"))?.spec).not.toHaveProperty("subjectNamesInSans");
  });

  it("stores REQUIRE and allow_sub_addresses, and updates them by mask", async () => {
    const p = await createPolicyRpc(h, {
      slug: "strict-names",
      maxTtl: days(1),
      subjectNamesInSans: SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_REQUIRE,
      sanRules: { email: { allowed: ["@example.com"], allowSubAddresses: true } },
    });
    expect(p.subjectNamesInSans).toBe(SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_REQUIRE);
    expect(p.sanRules?.email?.allowSubAddresses).toBe(true);
    expect((await policyRow(h, "strict-names"))?.spec).toMatchObject({
      subjectNamesInSans: "REQUIRE",
      sans: { email: { allowSubAddresses: true } },
    });
    const updated = await call(h.policies, "updateCertificatePolicy", {
      certificatePolicy: policyMessage({
        slug: "strict-names",
        subjectNamesInSans: SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_NOT_REQUIRED,
      }),
      updateMask: ["subject_names_in_sans"],
    });
    expect(updated.certificatePolicy?.subjectNamesInSans).toBe(
      SubjectNamesInSans.SUBJECT_NAMES_IN_SANS_NOT_REQUIRED,
    );
    expect(updated.certificatePolicy?.sanRules?.email?.allowSubAddresses).toBe(true);
  });

  it("refuses allow_sub_addresses on a type other than email, and an unknown setting", async () => {
    const err = await expectRpcError(
      call(h.policies, "createCertificatePolicy", {
        certificatePolicy: policyMessage({
          slug: "misplaced",
          maxTtl: days(1),
          subjectNamesInSans: 42 as SubjectNamesInSans,
          sanRules: { dns: { allowed: ["**"], allowSubAddresses: true } },
        }),
        preset: 0,
      }),
    );
    expect(err.violations.map((v) => `${v.field} ${v.reason}`).sort()).toEqual([
      "certificate_policy.san_rules.dns.allow_sub_addresses POLICY_FIELD_INVALID",
      "certificate_policy.subject_names_in_sans POLICY_FIELD_INVALID",
    ]);
  });
});
