/**
 * Security review, object-level access: who may receive a private key certmint generated. An
 * attacker holding an issuer or approver token tries every way to another token's key that
 * names the key's request or certificate: a replay of the owner's request_id (from a token of
 * the same profile and of another), replays after the certificate was revoked or renewed, a
 * REUSE renewal under allow_shared_renewal (with and without approval), watches of the same
 * profile while certmint renews the certificate, GetRequestStatus of the owner's request, and
 * an approval of a request whose key waits for its requester. Every answer is parsed: the key
 * reaches its owner, and every other answer's private_key_pem is empty (and never the owner's).
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateCertificateProfileRequest,
  PrivateKeyRetention,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateEventType,
  type WatchCertificatesRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import { autoRenew } from "../renewal/helpers";
import type { CertmintClients } from "../support/harness";
import { waitFor } from "../support/wait";
import { WatchStream } from "../support/watch-stream";
import {
  attrRequest,
  Code,
  call,
  createProfileRows,
  createRoot,
  createToken,
  getCert,
  ISSUED,
  KeyAlgorithm,
  PENDING_APPROVAL,
  RenewalKeySource,
  RevocationReason,
  Role,
  renewRequest,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

const T = CertificateEventType;
const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;
const { NEW, REUSE } = {
  NEW: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
  REUSE: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
};

type Token = Awaited<ReturnType<typeof createToken>>;

/** Whether `keyPem` is the private key of the certificate `certPem`. */
const keyOf = (certPem: string, keyPem: string) =>
  keyPem !== "" && new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));

describe("a generated private key reaches its owner only", () => {
  let h: TestCertmint;
  let alice: Token;
  let bob: Token;
  let carol: Token;
  let approver: Token;
  let auditor: Token;
  const watches: WatchStream[] = [];
  const watch = (c: CertmintClients, req: Partial<WatchCertificatesRequest>) => {
    const w = new WatchStream(c, req);
    watches.push(w);
    return w;
  };
  const profileWatch = (c: CertmintClients, slug: string) =>
    watch(c, { scope: { $case: "certificateProfile", value: slug } });

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_RENEWAL_TICK_MS: "50",
      CERTMINT_WATCH_KEEPALIVE_MS: "200",
      CERTMINT_WATCH_POLL_MS: "50",
    });
    const root = await createRoot(h, "root");
    const profile = (slug: string, o: Parameters<typeof createProfileRows>[1] = {}) =>
      createProfileRows(h, { slug, caId: root.id, ...o });
    const once = await profile("once");
    const keep = await profile("keep", { privateKeyRetention: "STORE_ENCRYPTED" });
    const gated = await profile("gated", { requireApproval: true });
    const auto = await profile("auto");
    const other = await profile("other");
    // Renewed as soon as a certificate of 5 minutes is stored (20 minutes before notAfter).
    await autoRenew(h.db, auto.profileId, { renewBeforeSeconds: 1200 }, 3600);
    // Keys kept, renewal shared by every issuer of the profile; one of them needs approval.
    for (const [slug, requireApproval] of [
      ["shared", false],
      ["shared-gated", true],
    ] as const) {
      await call(
        h.profiles,
        "createCertificateProfile",
        CreateCertificateProfileRequest.fromPartial({
          certificateProfile: {
            slug,
            certificatePolicy: "keep-policy",
            issuer: { $case: "certificateAuthority", value: "root" },
            privateKeyRetention: PrivateKeyRetention.PRIVATE_KEY_RETENTION_STORE_ENCRYPTED,
            renewal: { allowSharedRenewal: true },
            requireApproval,
          },
        }),
      );
    }
    const mine = [once, keep, gated, auto].map((p) => p.profileId);
    mine.push("shared", "shared-gated");
    alice = await createToken(h, "alice", Role.ROLE_ISSUER, mine);
    bob = await createToken(h, "bob", Role.ROLE_ISSUER, mine);
    carol = await createToken(h, "carol", Role.ROLE_ISSUER, [other.profileId]);
    approver = await createToken(h, "approver", Role.ROLE_APPROVER, mine);
    auditor = await createToken(h, "auditor", Role.ROLE_AUDITOR);
  });
  afterAll(async () => {
    for (const w of watches) w.cancel();
    await h?.stop();
  });

  const issueAs = (who: Token, profile: string, name: string, requestId = "", ttl?: number) =>
    call(
      who.clients.certificates,
      "issueCertificate",
      attrRequest(profile, {
        cn: name,
        dns: [name],
        keyAlgorithm: EC,
        requestId,
        ttlSeconds: ttl,
      }),
    );
  const renewAs = (who: Token, req: Parameters<typeof renewRequest>[0]) =>
    call(who.clients.certificates, "renewCertificate", renewRequest(req));
  const statusAs = (who: Token | TestCertmint, id: string) =>
    call("clients" in who ? who.clients.certificates : who.certificates, "getRequestStatus", {
      certificateRequestId: id,
    });
  /**
   * Another issuer's request, even on a profile both may act on, is NOT_FOUND as a missing id
   * (since stop 44 of 2026-12-06, as ListCertificateRequests: certificates/request-list.ts); before,
   * it was read without its key.
   */
  const hiddenFrom = async (who: Token, id: string) =>
    expect(await rpcError(statusAs(who, id))).toMatchObject({
      code: Code.NOT_FOUND,
      reason: "CERTIFICATE_REQUEST_NOT_FOUND",
    });
  const revoke = (id: string) =>
    call(h.certificates, "revokeCertificate", {
      certificate: id,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });

  for (const profile of ["once", "keep"]) {
    it(`${profile}: the owner's request_id replayed by another token, before and after revocation, never returns the owner's key`, async () => {
      const name = `${profile}-replay.example.com`;
      const rid = `r-${profile}`;
      const first = await issueAs(alice, profile, name, rid);
      const aliceKey = first.privateKeyPem;
      expect(keyOf(first.certificate!.certificatePem, aliceKey)).toBe(true);
      // The replay works (so a key that reached another token through it would show).
      expect((await issueAs(alice, profile, name, rid)).privateKeyPem).toBe(aliceKey);

      // Bob, same profile, same request, same request_id: his own request, certificate and key.
      const bobs = await issueAs(bob, profile, name, rid);
      expect(bobs.certificateRequestId).not.toBe(first.certificateRequestId);
      expect(bobs.certificate!.certificateId).not.toBe(first.certificate!.certificateId);
      expect(keyOf(bobs.certificate!.certificatePem, bobs.privateKeyPem)).toBe(true);
      expect(bobs.privateKeyPem).not.toBe(aliceKey);
      // Bob may not read Alice's request (his profile, not his request); the approver reads
      // the certificate without its key.
      await hiddenFrom(bob, first.certificateRequestId);
      const read = await statusAs(approver, first.certificateRequestId);
      expect(read.certificate!.certificateId).toBe(first.certificate!.certificateId);
      expect(read.privateKeyPem).toBe("");

      // Carol, another profile: refused on the profile she named, and Alice's request is as
      // unknown to her as a missing one; her own request_id rid is hers alone.
      expect(await rpcError(issueAs(carol, profile, name, rid))).toMatchObject({
        code: 7,
        reason: "PROFILE_NOT_GRANTED",
      });
      expect(await rpcError(statusAs(carol, first.certificateRequestId))).toMatchObject({
        code: Code.NOT_FOUND,
        reason: "CERTIFICATE_REQUEST_NOT_FOUND",
      });
      const carols = await issueAs(carol, "other", name, rid);
      expect(carols.privateKeyPem).not.toBe(aliceKey);
      expect(keyOf(carols.certificate!.certificatePem, carols.privateKeyPem)).toBe(true);

      // Revoked: Alice's replay still answers her own key; nobody else's replay touches it.
      await revoke(first.certificate!.certificateId);
      expect((await issueAs(alice, profile, name, rid)).privateKeyPem).toBe(aliceKey);
      const bobAgain = await issueAs(bob, profile, name, rid);
      expect(bobAgain.certificate!.certificateId).toBe(bobs.certificate!.certificateId);
      expect(bobAgain.privateKeyPem).toBe(bobs.privateKeyPem);
      await hiddenFrom(bob, first.certificateRequestId);
      expect((await statusAs(approver, first.certificateRequestId)).privateKeyPem).toBe("");
    });
  }

  it("a REUSE renewal by another issuer under allow_shared_renewal, its replays, reads and watches never carry the owner's key", async () => {
    const first = await issueAs(alice, "shared", "shared.example.com", "s-1");
    const aliceKey = first.privateKeyPem;
    const original = first.certificate!.certificateId;
    const bobLineage = watch(bob.clients, { scope: { $case: "certificateId", value: original } });
    const bobProfile = profileWatch(bob.clients, "shared");
    await waitFor("bob's watches open", () => bobLineage.open && bobProfile.open);

    // Bob renews Alice's certificate keeping its key: the successor is Alice's, without the key.
    const reused = await renewAs(bob, {
      certificateId: original,
      keySource: REUSE,
      requestId: "b-1",
    });
    expect(reused.status).toBe(ISSUED);
    expect(reused.privateKeyPem).toBe("");
    const successor = reused.certificate!;
    expect(keyOf(successor.certificatePem, aliceKey)).toBe(true);
    expect((await getCert(h, successor.certificateId)).ownerAccessTokenId).toBe(alice.id);
    expect(
      (await renewAs(bob, { certificateId: original, keySource: REUSE, requestId: "b-1" }))
        .privateKeyPem,
    ).toBe("");
    expect((await statusAs(bob, reused.certificateRequestId)).privateKeyPem).toBe("");
    await waitFor("bob's watches to see the renewal", () =>
      [bobLineage, bobProfile].every((w) =>
        w.certificateIds(T.CERTIFICATE_EVENT_TYPE_RENEWED).includes(successor.certificateId),
      ),
    );
    // Bob's watch of Alice's lineage: its CURRENT (the original) and the renewal, keyless.
    expect(bobLineage.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).map((e) => e.certificate!.id)).toEqual([
      original,
    ]);
    for (const w of [bobLineage, bobProfile]) {
      expect(w.error).toBeUndefined();
      expect(w.events.map((e) => e.privateKeyPem).filter((k) => k !== "")).toEqual([]);
    }
    // A new watch of the lineage by Bob starts at the successor: keyless too.
    const late = watch(bob.clients, { scope: { $case: "certificateId", value: original } });
    await waitFor(
      "the late watch's CURRENT",
      () => late.of(T.CERTIFICATE_EVENT_TYPE_CURRENT).length > 0,
    );
    expect(late.of(T.CERTIFICATE_EVENT_TYPE_CURRENT)[0]!).toMatchObject({ privateKeyPem: "" });

    // Bob renews the successor with a new key: that key and certificate are his.
    const fresh = await renewAs(bob, {
      certificateId: successor.certificateId,
      keySource: NEW,
      requestId: "b-2",
    });
    expect(keyOf(fresh.certificate!.certificatePem, fresh.privateKeyPem)).toBe(true);
    expect(fresh.privateKeyPem).not.toBe(aliceKey);
    // Renewed twice, then revoked: Alice's replay of her request answers her own key, and
    // Bob's replays his; neither gets the other's.
    await revoke(fresh.certificate!.certificateId);
    await revoke(original);
    expect((await issueAs(alice, "shared", "shared.example.com", "s-1")).privateKeyPem).toBe(
      aliceKey,
    );
    const bobReplay = await renewAs(bob, {
      certificateId: successor.certificateId,
      keySource: NEW,
      requestId: "b-2",
    });
    expect(bobReplay.privateKeyPem).toBe(fresh.privateKeyPem);
    expect(
      (await renewAs(bob, { certificateId: original, keySource: REUSE, requestId: "b-1" }))
        .privateKeyPem,
    ).toBe("");
  });

  it("a REUSE renewal by another issuer that waits for approval: neither the issuer nor the approver gets the key", async () => {
    const first = await issueAs(alice, "shared-gated", "gated-shared.example.com");
    expect(first.status).toBe(PENDING_APPROVAL);
    await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: first.certificateRequestId,
      comment: "",
    });
    const issued = await statusAs(alice, first.certificateRequestId);
    const aliceKey = issued.privateKeyPem;
    expect(keyOf(issued.certificate!.certificatePem, aliceKey)).toBe(true);

    const renewal = await renewAs(bob, {
      certificateId: issued.certificate!.certificateId,
      keySource: REUSE,
      requestId: "g-1",
    });
    expect(renewal).toMatchObject({ status: PENDING_APPROVAL, privateKeyPem: "" });
    const approved = await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: renewal.certificateRequestId,
      comment: "",
    });
    expect(JSON.stringify(approved)).not.toContain("PRIVATE KEY");
    // Alice owns the certificate, not the renewal request (Bob's).
    await hiddenFrom(alice, renewal.certificateRequestId);
    for (const who of [bob, approver]) {
      const read = await statusAs(who, renewal.certificateRequestId);
      expect(read.certificateRequest!.status).toBe(ISSUED);
      expect(read.privateKeyPem).toBe("");
    }
    expect(
      (
        await renewAs(bob, {
          certificateId: issued.certificate!.certificateId,
          keySource: REUSE,
          requestId: "g-1",
        })
      ).privateKeyPem,
    ).toBe("");
  });

  it("an approver that approves a request with a generated key never receives the key; the requester does", async () => {
    const approverWatch = profileWatch(approver.clients, "gated");
    const bobWatch = profileWatch(bob.clients, "gated");
    await waitFor("the watches open", () => approverWatch.open && bobWatch.open);
    const waiting = await issueAs(alice, "gated", "gated.example.com");
    expect(waiting).toMatchObject({ status: PENDING_APPROVAL, privateKeyPem: "" });
    await hiddenFrom(bob, waiting.certificateRequestId);

    const approved = await call(approver.clients.certificates, "approveCertificateRequest", {
      certificateRequestId: waiting.certificateRequestId,
      comment: "",
    });
    expect(approved.certificateRequest!.status).toBe(ISSUED);
    expect(JSON.stringify(approved)).not.toContain("PRIVATE KEY");
    const id = approved.certificateRequest!.certificateId;
    // Everyone who may read the request reads it before its requester: no key, and the key
    // still waits for her.
    for (const who of [approver, auditor]) {
      expect((await statusAs(who, waiting.certificateRequestId)).privateKeyPem).toBe("");
    }
    await hiddenFrom(bob, waiting.certificateRequestId);
    expect((await statusAs(h, waiting.certificateRequestId)).privateKeyPem).toBe("");
    await waitFor("the watches to see the issuance", () =>
      [approverWatch, bobWatch].every((w) =>
        w.certificateIds(T.CERTIFICATE_EVENT_TYPE_ISSUED).includes(id),
      ),
    );
    for (const w of [approverWatch, bobWatch]) {
      expect(w.events.map((e) => e.privateKeyPem).filter((k) => k !== "")).toEqual([]);
    }
    expect((await getCert(h, id)).ownerAccessTokenId).toBe(alice.id);

    const mine = await statusAs(alice, waiting.certificateRequestId);
    expect(keyOf(mine.certificate!.certificatePem, mine.privateKeyPem)).toBe(true);
    // Again within its replay window (a lost answer), hers alone: the others still read none.
    expect((await statusAs(alice, waiting.certificateRequestId)).privateKeyPem).toBe(
      mine.privateKeyPem,
    );
    for (const who of [approver, auditor]) {
      expect((await statusAs(who, waiting.certificateRequestId)).privateKeyPem).toBe("");
    }
    await hiddenFrom(bob, waiting.certificateRequestId);
  });

  it("an automatic renewal's new key goes to the owner's watch only, not to other watches of the profile", async () => {
    const others = {
      bob: profileWatch(bob.clients, "auto"),
      approver: profileWatch(approver.clients, "auto"),
      admin: profileWatch(h, "auto"),
      auditor: watch(auditor.clients, {}),
    };
    const aliceWatch = profileWatch(alice.clients, "auto");
    const all = [aliceWatch, ...Object.values(others)];
    await waitFor("the watches open", () => all.every((w) => w.open));

    // Five minutes, inside the profile's 20-minute window: certmint renews it at once.
    const first = await issueAs(alice, "auto", "auto.example.com", "", 300);
    const original = first.certificate!.certificateId;
    // The lineage watch resumes after the issuance's event (as a watcher that reconnects does):
    // opened after the issuance, it may open after the renewal too, which a busy machine's
    // renewer made first (a busy test run, stop 41: it waited in vain for the RENEWED event).
    let issuedCursor = "";
    await waitFor("bob's profile watch to see the issuance", () => {
      const e = others.bob
        .of(T.CERTIFICATE_EVENT_TYPE_ISSUED)
        .find((x) => x.certificate?.id === original);
      issuedCursor = e?.cursor ?? "";
      return issuedCursor !== "";
    });
    const bobLineage = watch(bob.clients, {
      scope: { $case: "certificateId", value: original },
      afterCursor: issuedCursor,
    });
    all.push(bobLineage);
    const renewedIn = (w: WatchStream) =>
      w.of(T.CERTIFICATE_EVENT_TYPE_RENEWED).find((e) => e.previousCertificateId === original);
    await waitFor("every watch to receive the renewal", () =>
      all.every((w) => w.error !== undefined || renewedIn(w) !== undefined),
    );
    for (const w of all) expect(w.error).toBeUndefined();

    const ownEvent = renewedIn(aliceWatch)!;
    expect(keyOf(ownEvent.certificate!.certificatePem, ownEvent.privateKeyPem)).toBe(true);
    expect(ownEvent.privateKeyPem).not.toBe(first.privateKeyPem);
    for (const w of [...Object.values(others), bobLineage]) {
      expect(renewedIn(w)!.certificate!.id).toBe(ownEvent.certificate!.id);
      expect(w.events.map((e) => e.privateKeyPem).filter((k) => k !== "")).toEqual([]);
    }
  });
});
