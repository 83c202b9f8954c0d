/**
 * Free text (descriptions of access tokens, policies, profiles and CAs; an approval's comment;
 * a rejection's reason) is one line of printable characters (api/request-check.ts
 * freeTextProblem): a control (C0 with tab and line feed, DEL, C1), a format character (bidi
 * embeddings, overrides and isolates, zero-width characters, BOM), U+2028/U+2029 or a
 * noncharacter is INVALID_ARGUMENT REQUEST_FIELD_INVALID, a field violation FIELD_NOT_PRINTABLE
 * naming the field, the character's position and its code point, and nothing is stored
 * (PostgreSQL read back). Until stop 46 of 2026-12-06 all of them were stored (an outside
 * probe, P) and only the CLI escaped them when it printed them. Each refused request is also
 * sent with clean text and succeeds, so the refusal is the text's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { UpdateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
  UpdateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm, SignatureAlgorithm } from "../../gen/ts/certmint/v1/common";
import { subject } from "../ca/helpers";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  issue,
  PENDING_APPROVAL,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";

let h: TestCertmint;
let rootId: string;

beforeAll(async () => {
  h = await startTestCertmint();
  rootId = (await createRoot(h, "root")).id;
  await createProfileRows(h, { caId: rootId, slug: "web" });
});
afterAll(async () => {
  await h?.stop();
});

/** Each refused character (inside "team X ops": position 6), the code point named, and why. */
const REFUSED: Array<[string, string, string]> = [
  ["\t", "U+0009", "tab"],
  ["\n", "U+000A", "line feed"],
  ["\r", "U+000D", "carriage return"],
  ["\u001b", "U+001B", "ESC"],
  ["\b", "U+0008", "backspace"],
  ["\u007f", "U+007F", "DEL"],
  ["\u0085", "U+0085", "C1 NEL"],
  ["\u009b", "U+009B", "C1 CSI"],
  ["\u202e", "U+202E", "bidi override"],
  ["\u202a", "U+202A", "bidi embedding"],
  ["\u2066", "U+2066", "bidi isolate"],
  ["\u2069", "U+2069", "bidi isolate end"],
  ["\u200b", "U+200B", "zero-width space"],
  ["\u200f", "U+200F", "RLM"],
  ["\ufeff", "U+FEFF", "BOM"],
  ["\u2028", "U+2028", "line separator"],
  ["\u2029", "U+2029", "paragraph separator"],
  ["\ufffe", "U+FFFE", "noncharacter"],
  ["\ufdd0", "U+FDD0", "noncharacter"],
  ["\u{1fffe}", "U+1FFFE", "supplementary noncharacter"],
];
const text = (c: string) => `team ${c} ops`;

/** The refusal of `promise`: INVALID_ARGUMENT naming `field`, position 6 and `codePoint`. */
async function expectRefused(promise: Promise<unknown>, field: string, codePoint: string) {
  const err = await rpcError(promise);
  const what = `${field} ${codePoint}`;
  expect(err.code, what).toBe(Code.INVALID_ARGUMENT);
  expect(err.reason, what).toBe("REQUEST_FIELD_INVALID");
  expect(
    err.violations.map((v) => [v.field, v.reason]),
    what,
  ).toEqual([[field, "FIELD_NOT_PRINTABLE"]]);
  expect(err.violations[0]!.description, what).toContain(`character 6 is ${codePoint}`);
  expect(err.message, what).toContain(`character 6 is ${codePoint}`);
  // The character is named, never echoed raw.
  expect(err.message, what).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/u);
}

const createToken = (slug: string, description: string) =>
  call(
    h.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: { slug, role: Role.ROLE_AUDITOR, description },
    }),
  );

const createPolicy = (slug: string, description: string) =>
  call(
    h.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
      certificatePolicy: {
        slug,
        description,
        sanRules: { dns: { allowed: ["**.example.com"] } },
        subjectRules: { commonName: { allowed: ["*"] } },
      },
    }),
  );

const createProfile = (slug: string, description: string) =>
  call(
    h.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug,
        description,
        certificatePolicy: "web-policy",
        issuer: { $case: "certificateAuthority", value: "root" },
      },
    }),
  );

const CA_KEY = {
  keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
  signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
};

const descriptionOf = async (table: string, slug: string) =>
  (
    await h.db.query<{ description: string }>(`select description from ${table} where slug = $1`, [
      slug,
    ])
  )[0]?.description;

describe("free text: one line of printable characters", () => {
  it("CreateAccessToken: every refused character, named by position and code point; no token stored", async () => {
    const before = await countRows(h, "access_token");
    for (const [c, codePoint] of REFUSED) {
      await expectRefused(createToken("ft-token", text(c)), "access_token.description", codePoint);
    }
    expect(await countRows(h, "access_token")).toBe(before);
    expect(await descriptionOf("access_token", "ft-token")).toBeUndefined();
    // Printable text of any script, punctuation, symbols and spaces such as U+00A0 is free text.
    // ZWNJ and ZWJ too: Persian and Indic words and emoji sequences need them.
    const fine = "équipe « sécurité » — 証明書 ✓ 👍 no\u00a0break کتاب\u200cخانه 👩\u200d💻";
    await createToken("ft-token", fine);
    expect(await descriptionOf("access_token", "ft-token")).toBe(fine);
  });

  it("policies: create and update refused, nothing stored or changed", async () => {
    await expectRefused(
      createPolicy("ft-policy", text("\u202e")),
      "certificate_policy.description",
      "U+202E",
    );
    expect(await descriptionOf("certificate_policy", "ft-policy")).toBeUndefined();
    const created = await createPolicy("ft-policy", "clean");
    await expectRefused(
      call(
        h.policies,
        "updateCertificatePolicy",
        UpdateCertificatePolicyRequest.fromPartial({
          certificatePolicy: { ...created.certificatePolicy!, description: text("\u001b") },
          updateMask: ["description"],
        }),
      ),
      "certificate_policy.description",
      "U+001B",
    );
    expect(await descriptionOf("certificate_policy", "ft-policy")).toBe("clean");
  });

  it("profiles: create and update refused, nothing stored or changed", async () => {
    await expectRefused(
      createProfile("ft-profile", text("\u2066")),
      "certificate_profile.description",
      "U+2066",
    );
    expect(await descriptionOf("certificate_profile", "ft-profile")).toBeUndefined();
    const created = await createProfile("ft-profile", "clean");
    await expectRefused(
      call(
        h.profiles,
        "updateCertificateProfile",
        UpdateCertificateProfileRequest.fromPartial({
          certificateProfile: { ...created.certificateProfile!, description: text("\u2028") },
          updateMask: ["description"],
        }),
      ),
      "certificate_profile.description",
      "U+2028",
    );
    expect(await descriptionOf("certificate_profile", "ft-profile")).toBe("clean");
  });

  it("CAs: root, intermediate and external creation and the update refused, nothing stored or changed", async () => {
    const before = await countRows(h, "certificate_authority");
    await expectRefused(
      call(h.authorities, "createRootCertificateAuthority", {
        slug: "ft-root",
        description: text("\u200b"),
        subject: subject("ft root"),
        ...CA_KEY,
      }),
      "description",
      "U+200B",
    );
    await expectRefused(
      call(h.authorities, "createIntermediateCertificateAuthority", {
        slug: "ft-intermediate",
        description: text("\u0085"),
        parentCertificateAuthority: "root",
        subject: subject("ft intermediate"),
        ...CA_KEY,
      }),
      "description",
      "U+0085",
    );
    await expectRefused(
      call(h.authorities, "createExternalIntermediateCertificateAuthority", {
        slug: "ft-external",
        description: text("\ufeff"),
        subject: subject("ft external"),
        ...CA_KEY,
      }),
      "description",
      "U+FEFF",
    );
    expect(await countRows(h, "certificate_authority")).toBe(before);
    const created = await call(h.authorities, "createIntermediateCertificateAuthority", {
      slug: "ft-intermediate",
      description: "clean",
      parentCertificateAuthority: "root",
      subject: subject("ft intermediate"),
      ...CA_KEY,
    });
    await expectRefused(
      call(
        h.authorities,
        "updateCertificateAuthority",
        UpdateCertificateAuthorityRequest.fromPartial({
          certificateAuthority: { ...created.certificateAuthority!, description: text("\u007f") },
          updateMask: ["description"],
        }),
      ),
      "certificate_authority.description",
      "U+007F",
    );
    expect(await descriptionOf("certificate_authority", "ft-intermediate")).toBe("clean");
  });

  it("an approval's comment and a rejection's reason refused; the request still waits", async () => {
    await createProfileRows(h, {
      caId: rootId,
      slug: "ft-approval",
      requireApproval: true,
      allowSelfApproval: true,
    });
    const waiting = await issue(
      h,
      attrRequest("ft-approval", { cn: "w.example.com", dns: ["w.example.com"] }),
    );
    expect(waiting.status).toBe(PENDING_APPROVAL);
    const id = waiting.certificateRequestId;
    await expectRefused(
      call(h.certificates, "approveCertificateRequest", {
        certificateRequestId: id,
        comment: text("\u202a"),
      }),
      "comment",
      "U+202A",
    );
    await expectRefused(
      call(h.certificates, "rejectCertificateRequest", {
        certificateRequestId: id,
        reason: text("\r"),
      }),
      "reason",
      "U+000D",
    );
    const [row] = await h.db.query<{ status: string }>(
      "select status from certificate_request where id = $1",
      [id],
    );
    expect(row!.status).toBe("PENDING_APPROVAL");
    expect(
      await countRows(
        h,
        "certificate",
        "profile_id = (select id from certificate_profile where slug = 'ft-approval')",
      ),
    ).toBe(0);
    // Clean text goes through.
    const rejected = await call(h.certificates, "rejectCertificateRequest", {
      certificateRequestId: id,
      reason: "not needed — ask again",
    });
    expect(rejected.certificateRequest!.status).not.toBe(PENDING_APPROVAL);
  });
});
