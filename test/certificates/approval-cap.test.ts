/**
 * CERTMINT_PENDING_APPROVALS_PER_TOKEN: the requests one access token may have waiting for an
 * approver. Past it a request to a profile that needs approval is RESOURCE_EXHAUSTED
 * (PENDING_APPROVALS_EXHAUSTED) and writes nothing; another token, and a profile that needs no
 * approval, go on; a decision (approve or reject) gives the place back. On PostgreSQL.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  Role,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("requests waiting for approval, per access token", () => {
  let h: TestCertmint;
  let approver: CertmintClients;
  let issuer: { id: string; clients: CertmintClients };
  let other: { id: string; clients: CertmintClients };

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_PENDING_APPROVALS_PER_TOKEN: "3" });
    const root = await createRoot(h, "root");
    const gated = await createProfileRows(h, {
      caId: root.id,
      slug: "gated",
      requireApproval: true,
    });
    const open = await createProfileRows(h, { caId: root.id, slug: "open" });
    approver = (await createToken(h, "gated-approver", Role.ROLE_APPROVER, [gated.profileId]))
      .clients;
    issuer = await createToken(h, "gated-issuer", Role.ROLE_ISSUER, [
      gated.profileId,
      open.profileId,
    ]);
    other = await createToken(h, "other-issuer", Role.ROLE_ISSUER, [gated.profileId]);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const ask = (clients: CertmintClients, profile: string, name: string) =>
    call(
      clients.certificates,
      "issueCertificate",
      attrRequest(profile, { cn: name, dns: [name], keyAlgorithm: EC }),
    );
  const waitingOf = async (tokenId: string) =>
    (
      await h.db.query<{ n: number }>(
        "select count(*)::int as n from certificate_request where caller = $1 and status = 'PENDING_APPROVAL'",
        [tokenId],
      )
    )[0]!.n;
  const requestsOf = async (tokenId: string) =>
    (
      await h.db.query<{ n: number }>(
        "select count(*)::int as n from certificate_request where caller = $1",
        [tokenId],
      )
    )[0]!.n;

  it("refuses a token's request past the cap, writing nothing; others go on; a decision frees a place", async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await ask(issuer.clients, "gated", `w${n}.example.com`);
      expect(res.status).toBe(PENDING_APPROVAL);
      ids.push(res.certificateRequestId);
    }
    expect(await waitingOf(issuer.id)).toBe(3);

    const refused = await rpcError(ask(issuer.clients, "gated", "w4.example.com"));
    expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.reason).toBe("PENDING_APPROVALS_EXHAUSTED");
    expect(refused.message).toContain("CERTMINT_PENDING_APPROVALS_PER_TOKEN");
    expect(refused.metadata).toMatchObject({
      setting: "CERTMINT_PENDING_APPROVALS_PER_TOKEN",
      waiting: "3",
    });
    // Nothing written for it: still three requests of this token, all waiting.
    expect(await requestsOf(issuer.id)).toBe(3);

    // A profile without approval issues at once; another token has its own places.
    expect((await ask(issuer.clients, "open", "now.example.com")).status).toBe(ISSUED);
    expect((await ask(other.clients, "gated", "o1.example.com")).status).toBe(PENDING_APPROVAL);

    // An approver rejects one: the token may ask again, and is refused again at three.
    await call(approver.certificates, "rejectCertificateRequest", {
      certificateRequestId: ids[0]!,
      reason: "not needed",
    });
    expect((await ask(issuer.clients, "gated", "w5.example.com")).status).toBe(PENDING_APPROVAL);
    expect((await rpcError(ask(issuer.clients, "gated", "w6.example.com"))).reason).toBe(
      "PENDING_APPROVALS_EXHAUSTED",
    );

    // Approving one frees a place too.
    const approved = await call(approver.certificates, "approveCertificateRequest", {
      certificateRequestId: ids[1]!,
      comment: "ok",
    });
    expect(approved.certificateRequest!.status).toBe(ISSUED);
    expect((await ask(issuer.clients, "gated", "w7.example.com")).status).toBe(PENDING_APPROVAL);
    expect(await waitingOf(issuer.id)).toBe(3);
  });

  it("holds exactly when one token's calls arrive together", async () => {
    // Counted before the insert (until 2026-12-04), calls at work together all counted the
    // same rows and all passed: 24 at once wrote up to 24 waiting requests against a cap of 3.
    const crowd = await createToken(h, "crowd-issuer", Role.ROLE_ISSUER, [
      (
        await h.db.query<{ id: string }>("select id from certificate_profile where slug = 'gated'")
      )[0]!.id,
    ]);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) => ask(crowd.clients, "gated", `c${i}.example.com`)),
    );
    const waited = outcomes.filter((o) => o.status === "fulfilled");
    for (const o of waited) expect(o.value.status).toBe(PENDING_APPROVAL);
    expect(waited).toHaveLength(3);
    for (const o of outcomes) {
      if (o.status === "rejected") {
        expect((await rpcError(Promise.reject(o.reason))).reason).toBe(
          "PENDING_APPROVALS_EXHAUSTED",
        );
      }
    }
    expect(await waitingOf(crowd.id)).toBe(3);
    expect(await requestsOf(crowd.id)).toBe(3);
  });
});
