/**
 * Two `authorization` headers on one call are CREDENTIALS_AMBIGUOUS, whichever comes first.
 * Found by an outside probe (2026-12-05): Node's HTTP/2 layer keeps only the first value of a
 * single-valued header, so grpc-js saw one and the first silently won (a proxy appending its own
 * credential after a client's did not override it). grpcurl sends both, as the probe did.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { ROOT } from "../support/server-process";

const GRPCURL = join(ROOT, ".tools", "bin", "grpcurl");

describe("repeated authorization headers", () => {
  let h: TestCertmint;

  /**
   * grpcurl's answer (stdout and stderr) to ListAccessTokens with these headers; run without
   * blocking, since the server answers from this very process.
   */
  const list = (...headers: string[]): Promise<string> => {
    const args = ["-plaintext", "-format-error"];
    for (const header of headers) args.push("-H", header);
    args.push(
      "-d",
      '{"page_size":1}',
      h.address,
      "certmint.v1.AccessTokenService/ListAccessTokens",
    );
    return new Promise((resolve) => {
      execFile(GRPCURL, args, { encoding: "utf8", timeout: 30_000 }, (_err, stdout, stderr) =>
        resolve(`${stdout}${stderr}`),
      );
    });
  };

  beforeAll(async () => {
    if (!existsSync(GRPCURL))
      throw new Error(`${GRPCURL} is missing: run the tests with \`make test\``);
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("one admin token authenticates (the probe's control)", async () => {
    expect(await list(`authorization: Bearer ${h.adminToken}`)).toContain('"accessTokens"');
  });

  it.each([
    ["the valid one first", true],
    ["the valid one second", false],
  ])("two headers are UNAUTHENTICATED CREDENTIALS_AMBIGUOUS, %s", async (_, validFirst) => {
    const valid = `authorization: Bearer ${h.adminToken}`;
    const other = `authorization: Bearer certmint_${"x".repeat(43)}`;
    const out = await (validFirst ? list(valid, other) : list(other, valid));
    expect(out).toContain(`"code": 16`); // UNAUTHENTICATED
    expect(out).toContain("CREDENTIALS_AMBIGUOUS");
    expect(out).not.toContain('"accessTokens"');
  });
});
