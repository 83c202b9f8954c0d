import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "./harness";

describe("test harness", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("calls a running in-process server and decodes error details", async () => {
    const err = await expectRpcError(
      call(h.authorities, "getCertificateAuthority", { certificateAuthority: "nope" }),
    );
    expect(err).toMatchObject({
      code: status.NOT_FOUND,
      reason: "CERTIFICATE_AUTHORITY_NOT_FOUND",
    });
  });
});
