/**
 * An Update names its object by the message's `id` or `slug`. Found by an outside probe
 * (2026-12-05): given both, naming two different objects, the slug was ignored and the object
 * of the id changed without a word. Now both must name the same object (INVALID_ARGUMENT
 * REFERENCE_CONFLICT otherwise, and nothing changes); both of one object, or either alone, work.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicy } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { createPolicyRpc, webPolicy } from "../policies/helpers";
import { byCa, createProfileRpc, createRootCa } from "../profiles/helpers";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";

let h: TestCertmint;
beforeAll(async () => {
  h = await startTestCertmint();
});
afterAll(async () => {
  await h?.stop();
});

const description = async (table: string, slug: string) =>
  (
    await h.db.query<{ description: string; version: number }>(
      `select description, version from ${table} where slug = $1`,
      [slug],
    )
  )[0];

describe("an Update that gives both id and slug", () => {
  it("UpdateCertificateAuthority: refused when they name two CAs, changing neither", async () => {
    const a = await createRootCa(h, "pair-ca-a");
    await createRootCa(h, "pair-ca-b");
    const before = [
      await description("certificate_authority", "pair-ca-a"),
      await description("certificate_authority", "pair-ca-b"),
    ];
    const err = await expectRpcError(
      call(h.authorities, "updateCertificateAuthority", {
        certificateAuthority: { ...a, slug: "pair-ca-b", description: "which one?" },
        updateMask: ["description"],
      }),
    );
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "REFERENCE_CONFLICT",
      violations: [expect.objectContaining({ field: "certificate_authority.slug" })],
    });
    expect(err.message).toContain('"pair-ca-a"');
    expect(err.message).toContain('"pair-ca-b"');
    expect([
      await description("certificate_authority", "pair-ca-a"),
      await description("certificate_authority", "pair-ca-b"),
    ]).toEqual(before);

    // Both of the same CA: the update goes through.
    const same = await call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: { ...a, description: "both agree" },
      updateMask: ["description"],
    });
    expect(same.certificateAuthority!.description).toBe("both agree");
  });

  it("UpdateCertificatePolicy: refused when they name two policies, changing neither", async () => {
    const a = await createPolicyRpc(h, webPolicy("pair-policy-a"));
    await createPolicyRpc(h, webPolicy("pair-policy-b"));
    const before = await description("certificate_policy", "pair-policy-a");
    const err = await expectRpcError(
      call(h.policies, "updateCertificatePolicy", {
        certificatePolicy: CertificatePolicy.fromPartial({
          id: a.id,
          slug: "pair-policy-b",
          description: "which one?",
        }),
        updateMask: ["description"],
      }),
    );
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "REFERENCE_CONFLICT",
      violations: [expect.objectContaining({ field: "certificate_policy.slug" })],
    });
    expect(await description("certificate_policy", "pair-policy-a")).toEqual(before);
    expect((await description("certificate_policy", "pair-policy-b"))!.description).toBe("");
  });

  it("UpdateCertificateProfile: refused when they name two profiles, changing neither", async () => {
    await createRootCa(h, "pair-root");
    await createPolicyRpc(h, webPolicy("pair-web"));
    const a = await createProfileRpc(h, {
      slug: "pair-profile-a",
      certificatePolicy: "pair-web",
      issuer: byCa("pair-root"),
    });
    await createProfileRpc(h, {
      slug: "pair-profile-b",
      certificatePolicy: "pair-web",
      issuer: byCa("pair-root"),
    });
    const before = await description("certificate_profile", "pair-profile-a");
    const err = await expectRpcError(
      call(h.profiles, "updateCertificateProfile", {
        certificateProfile: { ...a, slug: "pair-profile-b", description: "which one?" },
        updateMask: ["description"],
      }),
    );
    expect(err).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: "REFERENCE_CONFLICT",
      violations: [expect.objectContaining({ field: "certificate_profile.slug" })],
    });
    expect(await description("certificate_profile", "pair-profile-a")).toEqual(before);
    expect((await description("certificate_profile", "pair-profile-b"))!.description).toBe("");
  });
});
