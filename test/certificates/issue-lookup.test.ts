/**
 * How IssueCertificate finds its profile, policy and CA (one statement: the store's issuance
 * repository, findProfileAndPrior): a reference is an id (any case) or a slug, trimmed; a repeated request_id is answered from
 * the first call before the profile is looked at; a policy change applies to the next request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/issuance/policy-engine";
import {
  attrRequest,
  Code,
  createProfileRows,
  createRoot,
  ISSUED,
  issue,
  rpcError,
  startTestCertmint,
  type TestCertmint,
  tlsServerSpec,
} from "./helpers";

describe("IssueCertificate profile lookup", () => {
  let h: TestCertmint;
  let profileId: string;
  let policyId: string;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    ({ profileId, policyId } = await createProfileRows(h, { caId: root.id, slug: "web" }));
    await createProfileRows(h, { slug: "self" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const req = (profile: string, n: string, requestId = "") =>
    attrRequest(profile, { cn: `${n}.example.com`, dns: [`${n}.example.com`], requestId });

  it("finds the profile by slug, by id in either case, and trims the reference", async () => {
    for (const [i, ref] of ["web", profileId, profileId.toUpperCase(), `  web\t`].entries()) {
      const res = await issue(h, req(ref, `ref-${i}`));
      expect(res.status).toBe(ISSUED);
      const [row] = await h.db.query<{ profile_id: string; ca_id: string | null }>(
        "select profile_id, ca_id from certificate where id = $1",
        [res.certificate!.certificateId],
      );
      expect(row!.profile_id).toBe(profileId);
      expect(row!.ca_id).not.toBeNull();
    }
  });

  it("issues under a self-signed profile (no CA row)", async () => {
    const res = await issue(h, req("self", "selfsigned"));
    expect(res.status).toBe(ISSUED);
    const [row] = await h.db.query<{ ca_id: string | null }>(
      "select ca_id from certificate where id = $1",
      [res.certificate!.certificateId],
    );
    expect(row!.ca_id).toBeNull();
  });

  it("answers a repeated request_id from the first call even if its profile can no longer be found", async () => {
    const first = await issue(h, req("web", "replay", "lookup-replay"));
    await h.db.query("update certificate_profile set slug = 'web-renamed' where id = $1", [
      profileId,
    ]);
    try {
      const again = await issue(h, req("web", "replay", "lookup-replay"));
      expect(again.certificate!.certificateId).toBe(first.certificate!.certificateId);
      // A new request_id with the old slug: the profile is gone under that name.
      const err = await rpcError(issue(h, req("web", "replay", "lookup-new")));
      expect(err.code).toBe(Code.NOT_FOUND);
      expect(err.reason).toBe("CERTIFICATE_PROFILE_NOT_FOUND");
    } finally {
      await h.db.query("update certificate_profile set slug = 'web' where id = $1", [profileId]);
    }
  });

  it("checks a used request_id before an empty reference; INVALID_ARGUMENT without one", async () => {
    await issue(h, req("web", "empty", "lookup-empty"));
    const reused = await rpcError(issue(h, req(" ", "empty", "lookup-empty")));
    expect(reused.code).toBe(Code.ALREADY_EXISTS);
    expect(reused.reason).toBe("REQUEST_ID_REUSED");
    for (const requestId of ["", "lookup-empty-new"]) {
      const err = await rpcError(issue(h, req(" ", "empty", requestId)));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("REFERENCE_MISSING");
      expect(err.violations.map((v) => v.field)).toEqual(["certificate_profile"]);
    }
  });

  it("applies a policy update to the next request", async () => {
    const ok = await issue(h, req("web", "before"));
    expect(ok.status).toBe(ISSUED);
    const spec = tlsServerSpec();
    spec.subject.COMMON_NAME = { allowed: ["only.example.com"], denied: [], required: false };
    await h.db.query(
      "update certificate_policy set spec = $2, version = version + 1 where id = $1",
      [policyId, JSON.stringify(compilePolicy(spec).spec)],
    );
    try {
      const err = await rpcError(issue(h, req("web", "after")));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("POLICY_VIOLATION");
      expect((await issue(h, req("web", "only"))).status).toBe(ISSUED);
    } finally {
      await h.db.query(
        "update certificate_policy set spec = $2, version = version + 1 where id = $1",
        [policyId, JSON.stringify(compilePolicy(tlsServerSpec()).spec)],
      );
    }
  });
});
