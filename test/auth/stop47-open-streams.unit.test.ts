/**
 * The open streams' registry (src/auth/open-streams.ts, stop 47 of 2026-12-06): a change that
 * names no open stream costs no check (no database read), the streams of one credential are
 * checked once for all of them, a change that is not a revocation (a hold released) ends
 * nothing, and a check that could not be made (the database unavailable) ends nothing.
 */
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { type CheckedCredential, OpenStreams } from "../../src/auth/open-streams";
import { CertmintError, unauthenticated } from "../../src/errors";
import type { Actor } from "../../src/issuance/call";
import { waitFor } from "../support/wait";

const actor = (id: string): Actor => ({ id, slug: id, role: "ISSUER", profileIds: [] });
const FAR = Date.now() + 3_600_000;

function registry(answer: () => CheckedCredential | Error) {
  let checks = 0;
  const streams = new OpenStreams(
    async () => {
      checks++;
      const a = answer();
      if (a instanceof Error) throw a;
      return a;
    },
    () => new Date(),
    3_600_000,
  );
  return { streams, checks: () => checks };
}

describe("OpenStreams", () => {
  it("checks a credential once for all its streams, and only the credentials a change names", async () => {
    let revoked = false;
    const refusal = unauthenticated("TOKEN_REVOKED", 'access token "t1" was revoked at …');
    const r = registry(() => (revoked ? refusal : { actor: actor("t1"), validUntil: FAR }));
    const ended: CertmintError[] = [];
    for (let i = 0; i < 3; i++) {
      r.streams.hold("s:one", new Metadata(), undefined, actor("t1"), (e) => ended.push(e));
    }
    await waitFor("the streams' first check", () => r.checks() >= 1);
    const before = r.checks();
    // Another token, a certificate no stream uses: nothing to check.
    r.streams.tokenRevoked("t2");
    r.streams.certificateChanged("ab".repeat(32));
    expect(r.checks()).toBe(before);

    revoked = true;
    r.streams.tokenRevoked("t1");
    await waitFor("the three streams ended", () => ended.length === 3);
    expect(ended.every((e) => e === refusal)).toBe(true);
    expect(r.checks()).toBe(before + 1);
  });

  it("a change that is not a revocation, or a check that could not be made, ends nothing", async () => {
    let answer: CheckedCredential | Error = { actor: actor("t1"), validUntil: FAR };
    const r = registry(() => answer);
    const ended: CertmintError[] = [];
    r.streams.hold("c:fp", new Metadata(), undefined, actor("t1"), (e) => ended.push(e));
    await waitFor("the first check", () => r.checks() >= 1);
    // A hold released is announced as "certificate-revoked" too.
    r.streams.certificateChanged("fp");
    await waitFor("the second check", () => r.checks() >= 2);
    answer = new CertmintError("unavailable", "DATABASE_UNAVAILABLE", "database unavailable");
    r.streams.all();
    await waitFor("the third check", () => r.checks() >= 3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toEqual([]);
  });
});
