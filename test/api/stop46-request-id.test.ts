/**
 * request_id (the idempotency key of IssueCertificate, RenewCertificate, CreateAccessToken) is
 * 1-128 printable characters: Unicode letters, marks, numbers, punctuation, symbols, and the
 * space U+0020 but not first or last, in NFC (src/api/convert/request-id.ts). Until stop 46 of
 * 2026-12-06 only C0 controls and DEL were refused, so "dup-T", "dup<U+200B>-T",
 * "dup<U+0085>-T" and "dup<U+202E>-T" (four ids that look identical) issued four certificates
 * (an outside probe). Each refusal is INVALID_ARGUMENT REQUEST_ID_INVALID with a field violation
 * naming the position and code point, and writes no row (PostgreSQL counted).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  issue,
  renewRequest,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";

let h: TestCertmint;
let certId: string;

beforeAll(async () => {
  h = await startTestCertmint();
  const root = await createRoot(h, "root");
  await createProfileRows(h, { caId: root.id, slug: "web" });
  const res = await issue(h, attrRequest("web", { cn: "r.example.com", dns: ["r.example.com"] }));
  certId = res.certificate!.certificateId;
});
afterAll(async () => {
  await h?.stop();
});

const rows = async () => ({
  requests: await countRows(h, "certificate_request"),
  certificates: await countRows(h, "certificate"),
  tokens: await countRows(h, "access_token"),
});

/** Each refused id, the 1-based character position and the code point the refusal names. */
const REFUSED: Array<[string, string, string]> = [
  ["dup\u0085-T", "character 4 is U+0085", "C1 NEL"],
  ["dup\u009b-T", "character 4 is U+009B", "C1 CSI"],
  ["dup\u202e-T", "character 4 is U+202E", "bidi override"],
  ["dup\u202a-T", "character 4 is U+202A", "bidi embedding"],
  ["dup\u2066-T", "character 4 is U+2066", "bidi isolate"],
  ["dup\u2069-T", "character 4 is U+2069", "bidi isolate end"],
  ["dup\u200b-T", "character 4 is U+200B", "zero-width space"],
  ["dup\u200f-T", "character 4 is U+200F", "RLM"],
  ["\ufeffdup-T", "character 1 is U+FEFF", "BOM"],
  ["dup\u2028-T", "character 4 is U+2028", "line separator"],
  ["dup\u2029-T", "character 4 is U+2029", "paragraph separator"],
  ["dup\ufffe-T", "character 4 is U+FFFE", "noncharacter"],
  ["dup\uffff-T", "character 4 is U+FFFF", "noncharacter"],
  ["dup\ufdd0-T", "character 4 is U+FDD0", "noncharacter"],
  ["dup\ue000-T", "character 4 is U+E000", "private use"],
  [
    "d\u{1F600}\u{10FFFD}",
    "character 3 is U+10FFFD",
    "supplementary private use, counted in code points",
  ],
  ["dup\u0378-T", "character 4 is U+0378", "unassigned"],
  ["dup\u00a0-T", "character 4 is U+00A0", "no-break space"],
  ["dup\u3000-T", "character 4 is U+3000", "ideographic space"],
  ["dup-T ", "starts or ends with a space", "trailing space"],
  [" dup-T", "starts or ends with a space", "leading space"],
  ["cafe\u0301", "Normalization Form C", "decomposed é"],
];

describe("request_id: printable characters only", () => {
  it("refuses every invisible or lookalike character in IssueCertificate, naming position and code point", async () => {
    const before = await rows();
    for (const [requestId, names, what] of REFUSED) {
      const req = attrRequest("web", { cn: "a.example.com", dns: ["a.example.com"], requestId });
      const err = await rpcError(issue(h, req));
      expect(err.code, what).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason, what).toBe("REQUEST_ID_INVALID");
      expect(
        err.violations.map((v) => v.field),
        what,
      ).toEqual(["request_id"]);
      expect(err.violations[0]!.description, what).toContain(names);
      expect(err.message, what).toContain(names);
      // The refused character is named by its code point, never echoed raw.
      expect(err.message, what).not.toContain(requestId.trim());
    }
    expect(await rows()).toEqual(before);
  });

  it("four request_ids that look identical no longer issue four certificates", async () => {
    const ids = ["dup-T", "dup\u200b-T", "dup\u0085-T", "dup\u202e-T"];
    const codes: number[] = [];
    for (const requestId of ids) {
      const req = attrRequest("web", { cn: "d.example.com", dns: ["d.example.com"], requestId });
      codes.push(
        await issue(h, req).then(
          () => 0,
          async (e) => (await rpcError(Promise.reject(e))).code,
        ),
      );
    }
    expect(codes).toEqual([0, Code.INVALID_ARGUMENT, Code.INVALID_ARGUMENT, Code.INVALID_ARGUMENT]);
    const stored = await h.db.query<{ request_id: string }>(
      "select request_id from certificate_request where request_id like 'dup%'",
    );
    expect(stored.map((r) => r.request_id)).toEqual(["dup-T"]);
  });

  it("refuses them in RenewCertificate and CreateAccessToken too", async () => {
    const before = await rows();
    const renew = await rpcError(
      call(
        h.certificates,
        "renewCertificate",
        renewRequest({ certificateId: certId, requestId: "renew\u2066x" }),
      ),
    );
    expect(renew.code).toBe(Code.INVALID_ARGUMENT);
    expect(renew.reason).toBe("REQUEST_ID_INVALID");
    expect(renew.violations[0]!.description).toContain("character 6 is U+2066");
    const token = await rpcError(
      call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "zw-auditor", role: Role.ROLE_AUDITOR },
          requestId: "tok\ufeff",
        }),
      ),
    );
    expect(token.code).toBe(Code.INVALID_ARGUMENT);
    expect(token.reason).toBe("REQUEST_ID_INVALID");
    expect(token.violations.map((v) => v.field)).toEqual(["request_id"]);
    expect(token.violations[0]!.description).toContain("character 4 is U+FEFF");
    expect(await rows()).toEqual(before);
  });

  it("accepts letters of any script, symbols and an inner space, and replays them", async () => {
    for (const requestId of ["zertifikat für müller", "証明書-1", "a.b:c/d_e~f+g=h", "café"]) {
      const req = attrRequest("web", { cn: "u.example.com", dns: ["u.example.com"], requestId });
      const first = await issue(h, req);
      const again = await issue(h, req);
      expect(again.certificate!.certificateId).toBe(first.certificate!.certificateId);
      const stored = await h.db.query<{ request_id: string }>(
        "select request_id from certificate_request where id = $1",
        [first.certificateRequestId],
      );
      expect(stored[0]!.request_id).toBe(requestId);
    }
  });
});
