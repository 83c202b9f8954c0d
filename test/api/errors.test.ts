import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
  RetryInfo,
} from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { toServiceError } from "../../src/api/errors";
import { CertmintError, clip, quoted } from "../../src/errors";

function decodeDetails(err: ReturnType<typeof toServiceError>) {
  const raw = err.metadata?.get("grpc-status-details-bin")[0] as Buffer;
  const st = Status.decode(raw);
  const byType = Object.fromEntries(st.details.map((d) => [d.typeUrl.split(".").at(-1), d.value]));
  return { st, byType };
}

describe("domain errors to gRPC status", () => {
  it("maps invalid_argument with every violation as BadRequest and a stable ErrorInfo reason", () => {
    const err = toServiceError(
      new CertmintError(
        "invalid_argument",
        "POLICY_VIOLATION",
        "the request breaks 2 rules of policy web",
        {
          violations: [
            {
              field: "sans.dns_names[0]",
              description: '"a.evil.com" matches denied "*.evil.com"',
              reason: "SAN_DENIED",
            },
            {
              field: "ttl",
              description: "ttl 400d exceeds max_ttl 90d",
              reason: "TTL_EXCEEDS_MAX",
            },
          ],
        },
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe("the request breaks 2 rules of policy web");
    const { st, byType } = decodeDetails(err);
    expect(st.code).toBe(status.INVALID_ARGUMENT);
    expect(ErrorInfo.decode(byType.ErrorInfo!)).toMatchObject({
      reason: "POLICY_VIOLATION",
      domain: "certmint.dev",
    });
    expect(
      BadRequest.decode(byType.BadRequest!).fieldViolations.map((v) => [v.field, v.reason]),
    ).toEqual([
      ["sans.dns_names[0]", "SAN_DENIED"],
      ["ttl", "TTL_EXCEEDS_MAX"],
    ]);
  });

  it("maps failed_precondition with PreconditionFailure and resource_exhausted with RetryInfo", () => {
    const pre = toServiceError(
      new CertmintError("failed_precondition", "CA_DISABLED", "CA root-a is disabled", {
        preconditions: [
          { type: "CA_STATUS", subject: "certificate_authorities/root-a", description: "disabled" },
        ],
      }),
    );
    expect(pre.code).toBe(status.FAILED_PRECONDITION);
    expect(
      PreconditionFailure.decode(decodeDetails(pre).byType.PreconditionFailure!).violations[0],
    ).toMatchObject({
      type: "CA_STATUS",
    });
    const limited = toServiceError(
      new CertmintError("resource_exhausted", "RATE_LIMITED", "slow down", {
        retryAfterSeconds: 3,
      }),
    );
    expect(limited.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(RetryInfo.decode(decodeDetails(limited).byType.RetryInfo!).retryDelay).toEqual({
      seconds: "3",
      nanos: 0,
    });
  });

  // Found by an outside probe (2026-12-05): CERTIFICATE_REVOKED, CERTIFICATE_ALREADY_RENEWED and
  // others reached the client with an ErrorInfo and no PreconditionFailure.
  it("gives a failed_precondition that names none a PreconditionFailure of its reason and request", () => {
    const bare = new CertmintError(
      "failed_precondition",
      "PROFILE_DELETED",
      "the profile was deleted",
    );
    bare.metadata.certificate_request_id = "0193a0b4-0000-7000-8000-000000000001";
    const details = decodeDetails(toServiceError(bare)).byType;
    expect(PreconditionFailure.decode(details.PreconditionFailure!).violations).toEqual([
      {
        type: "PROFILE_DELETED",
        subject: "certificate_requests/0193a0b4-0000-7000-8000-000000000001",
        description: "the profile was deleted",
      },
    ]);
    // Other kinds get none.
    const other = decodeDetails(toServiceError(new CertmintError("not_found", "R", "m"))).byType;
    expect(other.PreconditionFailure).toBeUndefined();
  });

  it.each([
    ["not_found", status.NOT_FOUND],
    ["already_exists", status.ALREADY_EXISTS],
    ["aborted", status.ABORTED],
    ["permission_denied", status.PERMISSION_DENIED],
    ["unauthenticated", status.UNAUTHENTICATED],
    ["unimplemented", status.UNIMPLEMENTED],
    ["unavailable", status.UNAVAILABLE],
    ["internal", status.INTERNAL],
  ] as const)("maps %s to code %i", (kind, code) => {
    expect(toServiceError(new CertmintError(kind, "R", "m")).code).toBe(code);
  });

  it("turns anything else into INTERNAL without its message, stack or details", () => {
    const err = toServiceError(
      new Error("connection to 10.0.0.5 failed: password authentication for admin"),
    );
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toBe("internal error; the server log has the details");
    expect(err.metadata).toBeUndefined();
  });
});

describe("a status that fits in the trailers every client accepts", () => {
  /** Bytes of the trailers a status travels in: grpc-message percent-encoded, details base64. */
  const trailerBytes = (err: ReturnType<typeof toServiceError>) =>
    encodeURIComponent(err.details ?? "").length +
    Buffer.from(err.metadata?.get("grpc-status-details-bin")[0] as Buffer).toString("base64")
      .length;

  it("keeps at most 512 characters of the message and the violations that fit, counting the rest", () => {
    const err = toServiceError(
      new CertmintError("invalid_argument", "POLICY_VIOLATION", `é${"m".repeat(100_000)}`, {
        violations: Array.from({ length: 10_000 }, (_, i) => ({
          field: `attributes.subject_alternative_names.dns_names[${i}]`,
          description: `"${"n".repeat(5000)}" matches denied pattern`,
          reason: "SAN_DENIED",
        })),
        metadata: { profile: "p".repeat(10_000) },
      }),
    );
    expect([...err.details!]).toHaveLength(512);
    expect(err.details!.endsWith("…")).toBe(true);
    // gRPC C-core clients (Python, C++, Ruby) refuse trailers over 8 KiB by default.
    expect(trailerBytes(err)).toBeLessThan(8 * 1024);
    const { byType } = decodeDetails(err);
    const kept = BadRequest.decode(byType.BadRequest!).fieldViolations;
    expect(kept.length).toBeGreaterThan(0);
    expect(kept[0]!.field).toBe("attributes.subject_alternative_names.dns_names[0]");
    expect(kept[0]!.description.length).toBeLessThanOrEqual(256);
    const info = ErrorInfo.decode(byType.ErrorInfo!);
    expect(Number(info.metadata.violations_omitted)).toBe(10_000 - kept.length);
    expect(info.metadata.profile!.length).toBeLessThanOrEqual(128);
  });

  it("leaves a status that fits as it is", () => {
    const err = toServiceError(
      new CertmintError("invalid_argument", "R", "short", {
        violations: [{ field: "f", description: "d", reason: "X" }],
      }),
    );
    expect(err.details).toBe("short");
    const info = ErrorInfo.decode(decodeDetails(err).byType.ErrorInfo!);
    expect(info.metadata).toEqual({});
  });

  it("clips whole characters, and quotes input JSON-escaped and short", () => {
    expect(clip("😀".repeat(10), 4)).toBe("😀😀😀…");
    expect(clip("abc", 3)).toBe("abc");
    expect(quoted("a\u0000b\nc")).toBe('"a\\u0000b\\nc"');
    expect(quoted("r".repeat(100_000))).toBe(`"${"r".repeat(63)}…"`);
  });
});
