/**
 * The CLI's hint for UNAVAILABLE: only a call that certmint did not answer (nothing listening,
 * a TLS mismatch) is told "is it running?"; a database outage certmint answered
 * (DATABASE_UNAVAILABLE) is told to retry once the database is back, and another answered
 * reason gets no connection hint. Until stop 48 of 2026-12-06 a server that answered
 * DATABASE_UNAVAILABLE was told "is it running (make run)?" (an outside probe, F6).
 */
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Any } from "../../gen/ts/google/protobuf/any";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import type { Invocation } from "../../src/cli/invocation";
import { reportFailure } from "../../src/cli/report-failure";

/** An UNAVAILABLE as grpc-js gives it to the CLI, with certmint's ErrorInfo when `reason`. */
function unavailable(message: string, reason?: string): ServiceError {
  const metadata = new Metadata();
  if (reason) {
    const details = [
      Any.fromPartial({
        typeUrl: "type.googleapis.com/google.rpc.ErrorInfo",
        value: Buffer.from(ErrorInfo.encode({ reason, domain: "certmint", metadata: {} }).finish()),
      }),
    ];
    metadata.set(
      "grpc-status-details-bin",
      Buffer.from(Status.encode({ code: status.UNAVAILABLE, message, details }).finish()),
    );
  }
  return Object.assign(new Error(message), {
    code: status.UNAVAILABLE,
    details: message,
    metadata,
  }) as ServiceError;
}

const invocation = {
  settings: { server: "127.0.0.1:50099", transport: { kind: "plaintext" }, token: "t" },
  env: {},
} as unknown as Invocation;

function report(err: ServiceError): { code: number; stderr: string } {
  let stderr = "";
  const code = reportFailure(err, invocation, (t) => {
    stderr += t;
  });
  return { code, stderr };
}

describe("the CLI's hint for UNAVAILABLE", () => {
  it("nothing answered: is it running?", () => {
    const r = report(unavailable("No connection established"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is it running (make run)?");
  });

  it("certmint answered DATABASE_UNAVAILABLE: retry once the database is back, not 'is it running'", () => {
    const r = report(unavailable("the database is unreachable", "DATABASE_UNAVAILABLE"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("answered, but cannot reach its database");
    expect(r.stderr).not.toContain("is it running");
  });

  it("certmint answered another reason: no connection hint", () => {
    const r = report(unavailable("busy", "SOMETHING_ELSE"));
    expect(r.stderr).not.toContain("hint:");
  });
});
