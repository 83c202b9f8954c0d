/**
 * Probe 51 (IDENTITY): what an access token grants when the objects it names change under it,
 * and what a caller learns from refusals, on the compiled server (dist/src/main.js).
 *
 *  - A token lists profiles (README: "A deleted profile leaves the profile list of every token
 *    that named it ... a new profile with its slug is not granted either"): a profile deleted and
 *    made again with the same slug grants the holder nothing new, and a slug cannot be changed.
 *  - A role that is no role (an enum value the proto does not have) makes no token.
 *  - Malformed `authorization` values authenticate nobody, and are not echoed.
 *  - A caller whose role may not call an RPC, or that sent no credential, learns nothing of
 *    which objects exist from the refusal.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateAccessTokenRequest,
  GetAccessTokenRequest,
} from "../../../gen/ts/certmint/v1/access_token_service";
import { GetCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CreateCertificateProfileRequest,
  DeleteCertificateProfileRequest,
  GetCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  IssueCertificateRequest,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import {
  callWith,
  type LiveCertmint,
  Role,
  rootPolicyProfile,
  startLive,
  token,
} from "../../probe49/api/live";
import { type CertmintClients, call, decodeError, expectRpcError } from "../../support/harness";

const issueOn = (as: CertmintClients, profile: string, host: string) =>
  call(
    as.certificates,
    "issueCertificate",
    IssueCertificateRequest.fromPartial({
      certificateProfile: profile,
      source: {
        $case: "attributes",
        value: {
          subject: { commonName: host },
          subjectAlternativeNames: { dnsNames: [host] },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        },
      },
    }),
  );

describe("probe51 identity: a token's grants when its objects change, and what refusals tell", () => {
  let live: LiveCertmint;
  let webRoot = "";

  const profileId = async (slug: string) =>
    (
      await call(
        live.admin.profiles,
        "getCertificateProfile",
        GetCertificateProfileRequest.fromPartial({ certificateProfile: slug }),
      )
    ).certificateProfile!;

  /** A second profile with `slug` on the web policy and root (the first one's name, reused). */
  const recreate = (slug: string) =>
    call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug,
          certificatePolicy: "web-policy",
          issuer: { $case: "certificateAuthority", value: webRoot },
        },
      }),
    );

  beforeAll(async () => {
    live = await startLive();
    webRoot = (await rootPolicyProfile(live, "web")).rootId;
    await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "batch",
          certificatePolicy: "web-policy",
          issuer: { $case: "certificateAuthority", value: webRoot },
        },
      }),
    );
  }, 180_000);
  afterAll(async () => {
    await live?.stop();
  });

  it("a profile's slug cannot be changed, so a token's slug never comes to name another profile", async () => {
    const issuer = await token(live, "web-issuer", Role.ROLE_ISSUER, ["web"]);
    const web = await profileId("web");
    const err = await expectRpcError(
      call(
        live.admin.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: { id: web.id, slug: "web-old" },
          updateMask: ["slug"],
        }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect((await profileId("web")).id).toBe(web.id);
    const issued = await issueOn(issuer.clients, "web", "b.example.com");
    expect(issued.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED);
    expect(
      await expectRpcError(
        call(
          live.admin.profiles,
          "getCertificateProfile",
          GetCertificateProfileRequest.fromPartial({ certificateProfile: "web-old" }),
        ),
      ),
    ).toMatchObject({ code: status.NOT_FOUND });
  });

  it("a profile deleted and made again with its slug grants its old tokens nothing, nor their certificates", async () => {
    const issuer = await token(live, "batch-issuer", Role.ROLE_ISSUER, ["batch"]);
    const old = await profileId("batch");
    const issued = await issueOn(issuer.clients, "batch", "c.example.com");
    await call(
      live.admin.profiles,
      "deleteCertificateProfile",
      DeleteCertificateProfileRequest.fromPartial({ certificateProfile: "batch", force: true }),
    );
    const fresh = (await recreate("batch")).certificateProfile!;
    expect(fresh.id).not.toBe(old.id);

    const before = await live.count("certificate_request");
    expect(await expectRpcError(issueOn(issuer.clients, "batch", "d.example.com"))).toMatchObject({
      code: status.PERMISSION_DENIED,
      reason: "PROFILE_NOT_GRANTED",
    });
    // Its certificate of the deleted profile cannot be renewed onto anything: the profile is off
    // its token, so the certificate is answered as a missing one.
    expect(
      await expectRpcError(
        call(
          issuer.clients.certificates,
          "renewCertificate",
          RenewCertificateRequest.fromPartial({ certificateId: issued.certificate!.certificateId }),
        ),
      ),
    ).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_NOT_FOUND" });
    expect(await live.count("certificate_request")).toBe(before);
    const got = await call(
      live.admin.accessTokens,
      "getAccessToken",
      GetAccessTokenRequest.fromPartial({ accessToken: issuer.id }),
    );
    expect(got.accessToken!.certificateProfiles).toEqual([]);
  });

  it("a role the proto does not have, or none, makes no token", async () => {
    const before = await live.count("access_token");
    for (const role of [0, 5, 99, -1] as Role[]) {
      const err = await expectRpcError(
        call(
          live.admin.accessTokens,
          "createAccessToken",
          CreateAccessTokenRequest.fromPartial({
            accessToken: { slug: `odd-role-${role < 0 ? "neg" : role}`, role },
          }),
        ),
      );
      expect(err.code, `role ${role}`).toBe(status.INVALID_ARGUMENT);
    }
    expect(await live.count("access_token")).toBe(before);
  });

  it("malformed authorization values authenticate nobody and are not echoed", async () => {
    const s = live.adminToken;
    const values = [
      s, // no scheme
      `Basic ${s}`,
      `Bearer ${s} ${s}`,
      `Bearer ${s},Bearer ${s}`,
      `Bearer ${s}x`,
      `Bearer ${s.slice(0, -1)}`,
      `Bearer  ${s.toUpperCase()}`,
    ];
    const before = await live.count("access_token");
    for (const value of values) {
      const md = new Metadata();
      md.set("authorization", value);
      const out = await callWith(
        live.clientsAs(undefined).accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "via-odd-header", role: Role.ROLE_ADMIN },
        }),
        md,
      );
      expect(out.err, value).toBeDefined();
      const e = decodeError(out.err);
      expect(e.code, value).toBe(status.UNAUTHENTICATED);
      expect(["TOKEN_MALFORMED", "TOKEN_UNKNOWN"], value).toContain(e.reason);
      expect(e.message).not.toContain(s.slice(9, 30));
    }
    expect(await live.count("access_token")).toBe(before);
  });

  it("a role that may not call an RPC, or no credential, learns nothing of which objects exist", async () => {
    const issuer = await token(live, "probe-issuer", Role.ROLE_ISSUER, ["web"]);
    const anonymous = live.clientsAs(undefined);
    const existing = {
      ca: webRoot,
      token: issuer.id,
      profile: "web",
    };
    const missing = {
      ca: "no-such-ca",
      token: "00000000-0000-4000-8000-000000000001",
      profile: "no-such-profile",
    };
    const ask = async (as: CertmintClients, refs: typeof existing) => {
      const out = [];
      // One call at a time: calls started together and awaited in turn left a later refusal
      // unhandled while an earlier one was awaited (vitest failed a CI run on it).
      for (const start of [
        () =>
          call(
            as.authorities,
            "getCertificateAuthority",
            GetCertificateAuthorityRequest.fromPartial({ certificateAuthority: refs.ca }),
          ),
        () =>
          call(
            as.accessTokens,
            "getAccessToken",
            GetAccessTokenRequest.fromPartial({ accessToken: refs.token }),
          ),
        () =>
          call(
            as.profiles,
            "deleteCertificateProfile",
            DeleteCertificateProfileRequest.fromPartial({ certificateProfile: refs.profile }),
          ),
      ]) {
        const e = await expectRpcError(start());
        out.push({
          code: e.code,
          reason: e.reason,
          message: e.message
            .replace(refs.ca, "<ref>")
            .replace(refs.token, "<ref>")
            .replace(refs.profile, "<ref>"),
        });
      }
      return out;
    };
    const byIssuer = await ask(issuer.clients, existing);
    expect(byIssuer.map((o) => o.reason)).toEqual([
      "ROLE_NOT_ALLOWED",
      "ROLE_NOT_ALLOWED",
      "ROLE_NOT_ALLOWED",
    ]);
    expect(await ask(issuer.clients, missing)).toEqual(byIssuer);
    const byNobody = await ask(anonymous, existing);
    expect(byNobody.map((o) => o.reason)).toEqual([
      "CREDENTIALS_MISSING",
      "CREDENTIALS_MISSING",
      "CREDENTIALS_MISSING",
    ]);
    expect(await ask(anonymous, missing)).toEqual(byNobody);
    // The profile the issuer may not delete is still there.
    expect((await profileId("web")).slug).toBe("web");
  });
});
