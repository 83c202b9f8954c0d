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
import { CertmintError } from "../../src/errors";

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
