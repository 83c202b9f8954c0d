/**
 * `request list` shows a request's first few names and how many more, so one request with many
 * SANs does not widen every row: a table pads each cell to its column's widest. Until stop 40
 * of 2026-12-05 (an outside probe) a request with 100 SANs padded every row to thousands of
 * characters. `request status` and JSON still give every name.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { type CliSession, cliSession, ok } from "./cli";

describe("certmint request list: wide cells", () => {
  let h: TestCertmint;
  let cli: CliSession;
  const names = Array.from({ length: 100 }, (_, i) => `n${i}.example.com`);

  beforeAll(async () => {
    h = await startTestCertmint();
    cli = cliSession(h.address, h.dataDir);
    ok(await cli.run(["ca", "create-root", "root", "--cn", "Wide Root"]));
    ok(
      await cli.run([
        "profile",
        "create",
        "web",
        "--ca",
        "root",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
        "--require-approval",
      ]),
    );
    const issue = (dns: readonly string[]) =>
      cli.run(["cert", "issue", "--profile", "web", ...dns.flatMap((n) => ["--dns", n])]);
    ok(await issue(["a.example.com", "b.example.com"]));
    ok(await issue(names));
  });
  afterAll(async () => {
    cli?.remove();
    await h?.stop();
  });

  it("the NAMES cell lists three names and counts the rest; every row stays narrow", async () => {
    const out = ok(await cli.run(["request", "list"])).stdout;
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID +STATUS +SUBJECT +NAMES +PROFILE +REQUESTER +CREATED$/);
    const wide = lines.find((l) => l.includes("n0.example.com"));
    expect(wide).toContain(
      "DNS:n0.example.com, DNS:n1.example.com, DNS:n2.example.com, +97 more  ",
    );
    expect(wide).not.toContain("n3.example.com");
    expect(lines.find((l) => l.includes("a.example.com"))).toContain(
      "DNS:a.example.com, DNS:b.example.com  ",
    );
    for (const line of lines) expect(line.length).toBeLessThan(300);
  });

  it("request status and JSON still show every name", async () => {
    const listed = await cli.json<{
      certificateRequests: Array<{ id: string; subjectAlternativeNames?: { dnsNames: string[] } }>;
    }>(["request", "list"]);
    const wide = listed.certificateRequests.find(
      (r) => r.subjectAlternativeNames?.dnsNames.length === 100,
    );
    expect(wide?.subjectAlternativeNames?.dnsNames).toEqual(names);
    const status = ok(await cli.run(["request", "status", wide!.id])).stdout;
    expect(status).toContain(names.map((n) => `DNS:${n}`).join(", "));
  });
});
