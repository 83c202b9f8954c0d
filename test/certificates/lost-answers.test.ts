/**
 * Answers that get lost (issue 11): when the connection drops after a server-generated key was
 * issued, the client replays its request_id. The key of a RETURN_ONCE profile waits sealed on
 * the request for the replay window (CERTMINT_GENERATED_KEY_REPLAY_SECONDS, 60 minutes by
 * default): a replay by the same token returns the same certificate with the same key; no
 * other token ever gets it; once the window is over it is gone from the database.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteExpiredHeldKeys } from "../../src/issuance/certificates/held-keys";
import { createStore } from "../../src/store/store";
import type { CertmintClients } from "../support/harness";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  createToken,
  ISSUED,
  KeyAlgorithm,
  RenewalKeySource,
  RevocationReason,
  Role,
  renewRequest,
  requestStatus,
  spkiOf,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

/** The key certifies the certificate: same public key, and openssl-independent check too. */
function expectKeyOf(certificatePem: string, privateKeyPem: string): void {
  const x = new X509Certificate(certificatePem);
  const key = createPrivateKey(privateKeyPem);
  expect(spkiOf(createPublicKey(key)).equals(spkiOf(x))).toBe(true);
  expect(x.checkPrivateKey(key)).toBe(true);
}

const heldRow = async (h: TestCertmint, requestId: string) =>
  (
    await h.db.query<{ sealed: boolean; until: Date | null }>(
      "select sealed_private_key is not null as sealed, key_held_until as until from certificate_request where id = $1",
      [requestId],
    )
  )[0]!;

describe("a generated key survives a lost answer", () => {
  let h: TestCertmint;
  let issuer: CertmintClients;
  let other: CertmintClients;
  let auditor: CertmintClients;

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { slug: "web", caId: root.id });
    issuer = (await createToken(h, "issuer", Role.ROLE_ISSUER, ["web"])).clients;
    other = (await createToken(h, "other", Role.ROLE_ISSUER, ["web"])).clients;
    auditor = (await createToken(h, "auditor", Role.ROLE_AUDITOR)).clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  const req = attrRequest("web", {
    cn: "lost.example.com",
    dns: ["lost.example.com"],
    keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    requestId: "lost-1",
  });

  it("a replay by the same token within the window returns the same certificate and key", async () => {
    const first = await call(issuer.certificates, "issueCertificate", req);
    expect(first.status).toBe(ISSUED);
    expectKeyOf(first.certificate!.certificatePem, first.privateKeyPem);
    // (The first answer is "lost".) The replay:
    const replay = await call(issuer.certificates, "issueCertificate", req);
    expect(replay.certificateRequestId).toBe(first.certificateRequestId);
    expect(replay.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe(first.privateKeyPem);
    expectKeyOf(replay.certificate!.certificatePem, replay.privateKeyPem);
    // Kept sealed on the request for the window, never with the certificate.
    const held = await heldRow(h, first.certificateRequestId);
    expect(held.sealed).toBe(true);
    expect(held.until!.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    const [cert] = await h.db.query<{ kept: boolean }>(
      "select sealed_private_key is not null as kept from certificate where id = $1",
      [first.certificate!.certificateId],
    );
    expect(cert!.kept).toBe(false);
  });

  it("no other token gets it: the same request_id is another request, a read shows no key", async () => {
    const mine = await call(issuer.certificates, "issueCertificate", req);
    const theirs = await call(other.certificates, "issueCertificate", req);
    expect(theirs.certificateRequestId).not.toBe(mine.certificateRequestId);
    expect(theirs.certificate!.certificateId).not.toBe(mine.certificate!.certificateId);
    expect(theirs.privateKeyPem).not.toBe(mine.privateKeyPem);
    expectKeyOf(theirs.certificate!.certificatePem, theirs.privateKeyPem);
    // An auditor's read shows no key; the requester's read returns it (its replay window), as
    // its replay does.
    const read = async (reader: CertmintClients) =>
      call(reader.certificates, "getRequestStatus", {
        certificateRequestId: mine.certificateRequestId,
      });
    const seen = await read(auditor);
    expect(seen.certificate!.certificateId).toBe(mine.certificate!.certificateId);
    expect(seen.privateKeyPem).toBe("");
    expect((await read(issuer)).privateKeyPem).toBe(mine.privateKeyPem);
    // Reading it took nothing: the replay still gets it.
    expect((await heldRow(h, mine.certificateRequestId)).sealed).toBe(true);
    expect((await call(issuer.certificates, "issueCertificate", req)).privateKeyPem).toBe(
      mine.privateKeyPem,
    );
  });

  it("a renewal with a NEW key is kept for its replay too", async () => {
    const original = await call(
      issuer.certificates,
      "issueCertificate",
      attrRequest("web", { cn: "renew-lost.example.com", dns: ["renew-lost.example.com"] }),
    );
    const renewal = renewRequest({
      certificateId: original.certificate!.certificateId,
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      requestId: "renew-lost",
    });
    const first = await call(issuer.certificates, "renewCertificate", renewal);
    const replay = await call(issuer.certificates, "renewCertificate", renewal);
    expect(replay.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe(first.privateKeyPem);
    expectKeyOf(replay.certificate!.certificatePem, replay.privateKeyPem);
  });

  // Regression test for a bug once in src/issuance/certificates/revoke.ts (an outside probe).
  it("a key revoked as compromised is deleted at once: a replay returns the certificate without it", async () => {
    const kc = attrRequest("web", {
      cn: "kc-replay.example.com",
      dns: ["kc-replay.example.com"],
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      requestId: "kc-replay-1",
    });
    const first = await call(issuer.certificates, "issueCertificate", kc);
    expect(first.privateKeyPem).toContain("PRIVATE KEY");
    expect((await heldRow(h, first.certificateRequestId)).sealed).toBe(true);
    await call(h.certificates, "revokeCertificate", {
      certificate: first.certificate!.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    expect(await heldRow(h, first.certificateRequestId)).toEqual({ sealed: false, until: null });
    const replay = await call(issuer.certificates, "issueCertificate", kc);
    expect(replay.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe("");
  });

  // Regression test for a bug once in src/issuance/certificates/outcome.ts (a reviewer).
  it("a key blocked as compromised through another certificate is not returned by a replay either", async () => {
    const a = attrRequest("web", {
      cn: "kc-other.example.com",
      dns: ["kc-other.example.com"],
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      requestId: "kc-other-a",
    });
    const first = await call(issuer.certificates, "issueCertificate", a);
    expect(first.privateKeyPem).toContain("PRIVATE KEY");
    // B certifies the same key (a renewal that kept it); A is revoked first, for another reason.
    const b = await call(
      issuer.certificates,
      "renewCertificate",
      renewRequest({
        certificateId: first.certificate!.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
        requestId: "kc-other-b",
      }),
    );
    await call(h.certificates, "revokeCertificate", {
      certificate: first.certificate!.certificateId,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    await call(h.certificates, "revokeCertificate", {
      certificate: b.certificate!.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    // A's held key is the blocked key: its replay returns the certificate alone.
    const replay = await call(issuer.certificates, "issueCertificate", a);
    expect(replay.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe("");
  });

  it("after the window the key is no longer returned, and the sweep deletes it", async () => {
    const late = attrRequest("web", {
      cn: "late.example.com",
      dns: ["late.example.com"],
      requestId: "lost-late",
    });
    const first = await call(issuer.certificates, "issueCertificate", late);
    const held = await heldRow(h, first.certificateRequestId);
    // The sweep with a clock one second past the window (an injected clock: the use case reads
    // time only from deps.now) deletes exactly the keys whose time ran out.
    const deleted = await deleteExpiredHeldKeys({
      store: createStore(h.running.database.orm),
      now: () => new Date(held.until!.getTime() + 1_000),
    });
    expect(deleted).toBeGreaterThanOrEqual(1);
    expect(await heldRow(h, first.certificateRequestId)).toEqual({ sealed: false, until: null });
    const replay = await call(issuer.certificates, "issueCertificate", late);
    expect(replay.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe("");
  });
});

describe("the server's sweep", () => {
  let h: TestCertmint;

  beforeAll(async () => {
    // A one-second window, so the server's own sweep (every second here) has work to do.
    h = await startTestCertmint({ CERTMINT_GENERATED_KEY_REPLAY_SECONDS: "1" });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { slug: "web", caId: root.id });
    await createProfileRows(h, {
      slug: "gated",
      caId: root.id,
      requireApproval: true,
      allowSelfApproval: true,
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("deletes a replay key once its window is over, and leaves a key waiting for approval", async () => {
    // A key waiting for its requester after approval has no window: the sweep leaves it.
    const gated = await call(
      h.certificates,
      "issueCertificate",
      attrRequest("gated", { cn: "wait.example.com", dns: ["wait.example.com"] }),
    );
    await call(h.certificates, "approveCertificateRequest", {
      certificateRequestId: gated.certificateRequestId,
      comment: "",
    });
    const req = attrRequest("web", {
      cn: "swept.example.com",
      dns: ["swept.example.com"],
      requestId: "swept",
    });
    const first = await call(h.certificates, "issueCertificate", req);
    expectKeyOf(first.certificate!.certificatePem, first.privateKeyPem);

    // Wait for the state (the sweep ran after the window), never for a duration.
    const deadline = Date.now() + 60_000;
    while ((await heldRow(h, first.certificateRequestId)).sealed) {
      if (Date.now() > deadline) throw new Error("the sweep never deleted the replay key");
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await heldRow(h, first.certificateRequestId)).toEqual({ sealed: false, until: null });
    const replay = await call(h.certificates, "issueCertificate", req);
    expect(replay.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(replay.privateKeyPem).toBe("");

    expect(await heldRow(h, gated.certificateRequestId)).toEqual({ sealed: true, until: null });
    const st = await requestStatus(h, gated.certificateRequestId);
    expectKeyOf(st.certificate!.certificatePem, st.privateKeyPem);
  });
});
