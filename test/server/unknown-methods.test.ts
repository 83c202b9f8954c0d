/**
 * A call of a method the server does not have (src/server/unknown-methods.ts): UNIMPLEMENTED
 * with a google.rpc.Status and an ErrorInfo (METHOD_NOT_FOUND), a log line, and a count under
 * "unknown" (never the caller's text as a label). Until stop 41 of 2026-12-06 grpc-js answered
 * it alone: no details, no log line, not counted (an outside probe).
 */
import { credentials, Client as GrpcClient, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFull } from "../certificates/helpers";
import { startTestCertmint, type TestCertmint } from "../support/harness";

describe("calls of methods the server does not have", () => {
  let h: TestCertmint;
  let client: GrpcClient;

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_METRICS_LISTEN: "127.0.0.1:0" });
    client = new GrpcClient(h.address, credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await h?.stop();
  });

  const callPath = (path: string) =>
    new Promise<ServiceError>((resolve, reject) => {
      client.makeUnaryRequest(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new Metadata(),
        (err) => (err ? resolve(err) : reject(new Error(`${path} answered OK`))),
      );
    });

  it("answers UNIMPLEMENTED with an ErrorInfo, logs the call and counts it under unknown", async () => {
    const paths = [
      "/certmint.v1.CertificateService/Nope",
      "/certmint.v1.Nope/Nope",
      `/x/${"y".repeat(500)}`,
    ];
    for (const path of paths) {
      const err = decodeFull(await callPath(path));
      expect(err.code).toBe(12); // UNIMPLEMENTED
      expect(err.reason).toBe("METHOD_NOT_FOUND");
      expect(err.message).toContain("server reflection");
      expect(err.message.length).toBeLessThan(400);
    }
    const lines = h.logs.filter((l) => l.msg === "call of a method this server does not have");
    expect(lines.map((l) => l.method)).toEqual([
      paths[0],
      paths[1],
      `${paths[2]!.slice(0, 200)}...`,
    ]);
    expect(
      lines.every((l) => typeof l.peer === "string" && String(l.peer).startsWith("127.0.0.1:")),
    ).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${h.running.metricsPort}/metrics`)).text();
    expect(text).toContain(
      'certmint_grpc_requests_total{service="unknown",method="unknown",code="UNIMPLEMENTED"} 3',
    );
    expect(text).not.toContain("Nope");
  });
});
