/**
 * A refused change whose request also breaks the contract's field checks (api/request-check.ts:
 * too long, NUL, not printable free text) is recorded against the object it named, as any other
 * refusal is (api/refusal-resource.ts): the check's placeholder carries the request's naming
 * fields, read from the bytes without decoding them. Until stop 46 of 2026-12-06 such records
 * had no resource: an issuer's RevokeCertificate of "x<ESC ...><U+202E>...<DEL><BS>k" (over 64
 * characters), refused ROLE_NOT_ALLOWED, was recorded against nothing, while the same call with
 * a shorter reference was recorded against it (fix-helper D's note).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { UpdateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { RevokeCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../gen/ts/certmint/v1/common";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  createToken,
  issue,
  PENDING_APPROVAL,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "../certificates/helpers";

/** fix-helper D's payload: window title, erase line, CR, a green "APPROVED", bidi, C1, DEL, BS. */
const HOSTILE_REFERENCE =
  "x\u001b]0;pwned title\u0007\u001b[2K\r\u001b[32mAPPROVED\u001b[0m a\u202eb\u2066c\u2069d\u200be\u0085h\u009bi\u007fj\bk and a tail past 64";

let h: TestCertmint;
let rootId: string;
/** The bootstrap admin token's slug, the actor of the clients' calls. */
let admin: string;

beforeAll(async () => {
  h = await startTestCertmint();
  admin = (
    await h.db.query<{ slug: string }>(
      "select slug from access_token where role = 'ADMIN' order by created_at limit 1",
    )
  )[0]!.slug;
  rootId = (await createRoot(h, "root")).id;
  await createProfileRows(h, { caId: rootId, slug: "web" });
});
afterAll(async () => {
  await h?.stop();
});

/** The newest audit record of `method` by `actor`. */
async function lastRecord(method: string, actor: string) {
  const [row] = await h.db.query<{
    status_code: number;
    error_reason: string;
    resource_type: string;
    resource_id: string;
  }>(
    `select status_code, error_reason, resource_type, resource_id from audit_record
      where method = $1 and actor_slug = $2 order by created_at desc, id desc limit 1`,
    [method, actor],
  );
  return row;
}

const REVOKE = "/certmint.v1.CertificateService/RevokeCertificate";
const revoke = (clients: { certificates: TestCertmint["certificates"] }, certificate: string) =>
  call(
    clients.certificates,
    "revokeCertificate",
    RevokeCertificateRequest.fromPartial({
      certificate,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    }),
  );

describe("a refused call whose request breaks the field checks names its resource", () => {
  it("an issuer's RevokeCertificate of an over-long hostile reference: ROLE_NOT_ALLOWED, recorded against the reference", async () => {
    expect(Array.from(HOSTILE_REFERENCE).length).toBeGreaterThan(64);
    const issuer = await createToken(h, "rr-issuer", Role.ROLE_ISSUER, ["web"]);
    const err = await rpcError(revoke(issuer.clients, HOSTILE_REFERENCE));
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.reason).toBe("ROLE_NOT_ALLOWED");
    expect(await lastRecord(REVOKE, "rr-issuer")).toEqual({
      status_code: status.PERMISSION_DENIED,
      error_reason: "ROLE_NOT_ALLOWED",
      resource_type: "certificate",
      resource_id: HOSTILE_REFERENCE,
    });
  });

  it("an admin's RevokeCertificate refused by the check itself: its first 128 characters, NUL as U+FFFD", async () => {
    const long = `${"0123456789".repeat(20)}-tail`;
    const tooLong = await rpcError(revoke(h, long));
    expect(tooLong.code).toBe(Code.INVALID_ARGUMENT);
    expect(tooLong.reason).toBe("REQUEST_FIELD_INVALID");
    expect(await lastRecord(REVOKE, admin)).toEqual({
      status_code: Code.INVALID_ARGUMENT,
      error_reason: "REQUEST_FIELD_INVALID",
      resource_type: "certificate",
      resource_id: long.slice(0, 128),
    });
    const withNul = await rpcError(revoke(h, "ab\u0000cd"));
    expect(withNul.violations.map((v) => v.reason)).toEqual(["FIELD_CONTAINS_NUL"]);
    expect((await lastRecord(REVOKE, admin))!.resource_id).toBe("ab\ufffdcd");
  });

  it("refused free text: a token's slug, a CA's id, a request's id", async () => {
    const token = await rpcError(
      call(
        h.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug: "rr-token", role: Role.ROLE_AUDITOR, description: "a\u202eb" },
        }),
      ),
    );
    expect(token.reason).toBe("REQUEST_FIELD_INVALID");
    expect(
      await lastRecord("/certmint.v1.AccessTokenService/CreateAccessToken", admin),
    ).toMatchObject({
      error_reason: "REQUEST_FIELD_INVALID",
      resource_type: "access_token",
      resource_id: "rr-token",
    });

    const ca = await call(h.authorities, "getCertificateAuthority", {
      certificateAuthority: "root",
    });
    const update = await rpcError(
      call(
        h.authorities,
        "updateCertificateAuthority",
        UpdateCertificateAuthorityRequest.fromPartial({
          certificateAuthority: { ...ca.certificateAuthority!, description: "a\u0085b" },
          updateMask: ["description"],
        }),
      ),
    );
    expect(update.reason).toBe("REQUEST_FIELD_INVALID");
    expect(
      await lastRecord(
        "/certmint.v1.CertificateAuthorityService/UpdateCertificateAuthority",
        admin,
      ),
    ).toMatchObject({ resource_type: "certificate_authority", resource_id: rootId });

    await createProfileRows(h, { caId: rootId, slug: "rr-approval", requireApproval: true });
    const waiting = await issue(
      h,
      attrRequest("rr-approval", { cn: "w.example.com", dns: ["w.example.com"] }),
    );
    expect(waiting.status).toBe(PENDING_APPROVAL);
    const reject = await rpcError(
      call(h.certificates, "rejectCertificateRequest", {
        certificateRequestId: waiting.certificateRequestId,
        reason: "no\u2028",
      }),
    );
    expect(reject.reason).toBe("REQUEST_FIELD_INVALID");
    expect(
      await lastRecord("/certmint.v1.CertificateService/RejectCertificateRequest", admin),
    ).toMatchObject({
      resource_type: "certificate_request",
      resource_id: waiting.certificateRequestId,
    });
  });
});
