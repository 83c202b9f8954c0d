/**
 * Refused requests one token may have recorded (CERTMINT_REFUSAL_LIMIT_*). Each refusal on the
 * merits is a FAILED request row and an audit record; an outside probe (2026-12-05) had one
 * issuer write 315 of each a second, bounded only by its call rate. Past the limit a refusal is
 * RESOURCE_EXHAUSTED (REFUSALS_LIMITED) with RetryInfo and the reason it was refused, and
 * records nothing; another token is unaffected.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/ts/certmint/v1/access_token_service";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  expectRpcError,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { attrRequest, countRows, createToken } from "./helpers";

describe("refusals recorded per token (1/s, bursts of 3)", () => {
  let h: TestCertmint;
  let noisy: { id: string; clients: CertmintClients };
  let quiet: { id: string; clients: CertmintClients };

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_REFUSAL_LIMIT_PER_SECOND: "1",
      CERTMINT_REFUSAL_LIMIT_BURST: "3",
    });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    noisy = await createToken(h, "noisy", Role.ROLE_ISSUER, ["web"]);
    quiet = await createToken(h, "quiet", Role.ROLE_ISSUER, ["web"]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  // A name the web profile's policy refuses.
  const bad = () => attrRequest("web", { cn: "bad.example.org", dns: ["bad.example.org"] });
  const failedOf = (id: string) =>
    countRows(h, "certificate_request", `status = 'FAILED' and caller = '${id}'`);

  it("records a burst of refusals, then answers RESOURCE_EXHAUSTED with the reason and records nothing", async () => {
    const started = performance.now();
    const answers = [];
    for (let i = 0; i < 10; i++) {
      answers.push(
        await expectRpcError(call(noisy.clients.certificates, "issueCertificate", bad())),
      );
    }
    const elapsed = (performance.now() - started) / 1000;
    const refused = answers.filter((e) => e.code === status.INVALID_ARGUMENT);
    const limited = answers.filter((e) => e.code === status.RESOURCE_EXHAUSTED);
    expect(refused.length + limited.length).toBe(10);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeLessThanOrEqual(3 + Math.ceil(elapsed));
    for (const e of limited) {
      expect(e.reason).toBe("REFUSALS_LIMITED");
      expect(e.message).toContain("bad.example.org");
      expect(e.violations.length).toBeGreaterThan(0);
    }
    expect(await failedOf(noisy.id)).toBe(refused.length);
    // Another token's refusal is recorded as usual.
    const other = await expectRpcError(call(quiet.clients.certificates, "issueCertificate", bad()));
    expect(other.code).toBe(status.INVALID_ARGUMENT);
    expect(await failedOf(quiet.id)).toBe(1);
  });
});
