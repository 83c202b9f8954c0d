/**
 * How the CLI shows a failed call: the code and message, then every google.rpc detail on a line
 * of its own, the x-request-id, exit 1. A stand-in server answers with every detail type at
 * once (certmint sends them one or two at a time: the other test files see the real ones).
 */
import { Metadata, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateAuthorityServiceService } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
  RetryInfo,
} from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { runCli } from "./cli";

const any = (type: string, value: Uint8Array) => ({
  typeUrl: `type.googleapis.com/google.rpc.${type}`,
  value: Buffer.from(value),
});

describe("error output", () => {
  const server = new Server();
  let address: string;
  let sawAuthorization: string | undefined;

  beforeAll(async () => {
    server.addService(CertificateAuthorityServiceService, {
      listCertificateAuthorities: (
        call: { metadata: Metadata },
        callback: (err: unknown) => void,
      ) => {
        sawAuthorization = call.metadata.get("authorization")[0] as string | undefined;
        const details = Status.encode({
          code: status.RESOURCE_EXHAUSTED,
          message: "slow down",
          details: [
            any(
              "ErrorInfo",
              ErrorInfo.encode({
                reason: "RATE_LIMITED",
                domain: "certmint.dev",
                metadata: { limit: "1000/s" },
              }).finish(),
            ),
            any(
              "BadRequest",
              BadRequest.encode({
                fieldViolations: [
                  { field: "page_size", description: "at most 1000", reason: "FIELD_TOO_LARGE" },
                  { field: "status", description: "not a status", reason: "" },
                ],
              }).finish(),
            ),
            any(
              "PreconditionFailure",
              PreconditionFailure.encode({
                violations: [
                  {
                    type: "CA_IN_USE_BY_PROFILE",
                    subject: "web",
                    description: "profile web uses it",
                  },
                ],
              }).finish(),
            ),
            any(
              "RetryInfo",
              RetryInfo.encode({ retryDelay: { seconds: "2", nanos: 500_000_000 } }).finish(),
            ),
            { typeUrl: "type.example.com/acme.Custom", value: Buffer.from([1]) },
          ],
        }).finish();
        const trailers = new Metadata();
        trailers.set("grpc-status-details-bin", Buffer.from(details));
        trailers.set("x-request-id", "req-123");
        callback({ code: status.RESOURCE_EXHAUSTED, details: "slow down", metadata: trailers });
      },
    } as never);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => server.forceShutdown());

  it("every detail on one screen, in the order sent, and exit 1", async () => {
    const r = await runCli(["--server", address, "ca", "list"], {
      env: { CERTMINT_TOKEN: "certmint_test" },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      [
        "certmint: RESOURCE_EXHAUSTED: slow down",
        "  reason: RATE_LIMITED (certmint.dev)",
        "  metadata: limit=1000/s",
        "  field page_size: at most 1000 [FIELD_TOO_LARGE]",
        "  field status: not a status",
        "  precondition CA_IN_USE_BY_PROFILE web: profile web uses it",
        "  retry after: 2500 ms",
        "  detail of type type.example.com/acme.Custom",
        "  request id: req-123",
        "",
      ].join("\n"),
    );
    expect(sawAuthorization).toBe("Bearer certmint_test");
  });
});
