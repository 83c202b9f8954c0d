/**
 * Probe 51 (RENEWAL): RenewCertificate against rules changed since the certificate was issued,
 * on the compiled server and its own PostgreSQL database. What the policy no longer allows is
 * refused precisely with nothing signed; what changed elsewhere (the profile's CA, its end, the
 * profile itself) is decided again, and what is signed is checked with openssl: chain, validity
 * within the issuer's (RFC 5280 4.1.2.5, 6.1), a new serial.
 */
import { createPrivateKey } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevokeCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { ValidityOverflow } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  RenewalKeySource,
} from "../../../gen/ts/certmint/v1/certificate_service";
import {
  ExtendedKeyUsage,
  KeyAlgorithm,
  RevocationReason,
} from "../../../gen/ts/certmint/v1/common";
import { type LiveCertmint, Role, startLive, token } from "../../probe49/api/live";
import { call, expectRpcError } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  createIntermediate,
  createPolicy,
  createProfile,
  createRoot,
  issue,
  opensslVerify,
  renew,
  rows,
  seconds,
  updatePolicy,
  updateProfile,
  validity,
} from "./kit";

const EKU = ExtendedKeyUsage;
const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;

describe("probe51 RENEWAL: RenewCertificate against rules changed since issuance", {
  timeout: START_LIMIT_MS + 120_000,
}, () => {
  let live: LiveCertmint;
  let rootId: string;
  let rootPem: string;

  /** A policy, a profile on it under the root, and an issuer token of it. */
  const setup = async (slug: string, policy: Parameters<typeof createPolicy>[2] = {}) => {
    await createPolicy(live, `${slug}-policy`, policy);
    await createProfile(live, slug, `${slug}-policy`, rootId);
    return token(live, `${slug}-owner`, Role.ROLE_ISSUER, [slug]);
  };
  const successors = (id: string) => live.count("certificate", "renewed_from_id = $1", [id]);

  beforeAll(async () => {
    live = await startLive({ CERTMINT_RENEWAL_ENABLED: "false" });
    const root = await createRoot(live, "root");
    rootId = root.id;
    rootPem = root.certificatePem;
  });
  afterAll(async () => {
    await live?.stop();
  });

  it("a max_ttl lowered below the original lifetime: a renewal without ttl is refused naming ttl; one with a ttl inside it is signed no longer than max_ttl", async () => {
    const owner = await setup("ttl");
    const cert = (await issue(owner.clients, "ttl", "ttl.example.com", { ttl: seconds(7200) }))
      .certificate!;
    await updatePolicy(live, "ttl-policy", { maxTtl: seconds(1800) }, ["max_ttl"]);
    const before = await rows(live);
    const e = await expectRpcError(renew(owner.clients, cert.certificateId));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.violations.map((v) => v.field)).toContain("ttl");
    expect((await rows(live)).certificates).toBe(before.certificates);
    expect(await successors(cert.certificateId)).toBe(0);

    const ok = await renew(owner.clients, cert.certificateId, { ttl: seconds(1800) });
    expect(ok.status).toBe(ISSUED);
    const { notBefore, notAfter } = validity(ok.certificate!.certificatePem);
    // Both ends inclusive (RFC 5280 4.1.2.5): the period is notAfter - notBefore + 1 s.
    expect((notAfter.getTime() - notBefore.getTime()) / 1000 + 1).toBeLessThanOrEqual(1800);
    expect(opensslVerify(ok.certificate!.certificatePem, [], rootPem).ok).toBe(true);
  });

  it("a key algorithm the policy no longer allows: REUSE and NEW of that algorithm refused naming the key, nothing signed; NEW of an allowed one is signed with it", async () => {
    const owner = await setup("alg");
    const cert = (await issue(owner.clients, "alg", "alg.example.com")).certificate!;
    await updatePolicy(
      live,
      "alg-policy",
      { keyAlgorithms: { allowed: [KeyAlgorithm.KEY_ALGORITHM_RSA_2048], minRsaBits: 0 } },
      ["key_algorithms"],
    );
    const before = await rows(live);
    for (const keySource of [
      RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    ]) {
      const e = await expectRpcError(renew(owner.clients, cert.certificateId, { keySource }));
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(e.violations.map((v) => v.reason).join(" ")).toMatch(/KEY_ALGORITHM/);
    }
    expect((await rows(live)).certificates).toBe(before.certificates);
    const ok = await renew(owner.clients, cert.certificateId, {
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
    });
    const x = validity(ok.certificate!.certificatePem).x;
    expect(x.publicKey.asymmetricKeyType).toBe("rsa");
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(opensslVerify(ok.certificate!.certificatePem, [], rootPem).ok).toBe(true);
  });

  it("an extended key usage the policy no longer allows: refused naming extended_key_usages, nothing signed", async () => {
    const owner = await setup("eku");
    const cert = (
      await issue(owner.clients, "eku", "eku.example.com", {
        extendedKeyUsages: [EKU.EXTENDED_KEY_USAGE_SERVER_AUTH, EKU.EXTENDED_KEY_USAGE_CLIENT_AUTH],
      })
    ).certificate!;
    expect(validity(cert.certificatePem).x.toString()).toBeTruthy();
    await updatePolicy(
      live,
      "eku-policy",
      {
        extendedKeyUsages: {
          allowed: [EKU.EXTENDED_KEY_USAGE_SERVER_AUTH],
          required: [],
          denied: [EKU.EXTENDED_KEY_USAGE_CLIENT_AUTH],
        },
      },
      ["extended_key_usages"],
    );
    const before = await rows(live);
    const e = await expectRpcError(
      renew(owner.clients, cert.certificateId, {
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      }),
    );
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.violations.map((v) => v.field).join(" ")).toMatch(/extended_key_usages/);
    expect((await rows(live)).certificates).toBe(before.certificates);
    expect(await successors(cert.certificateId)).toBe(0);
  });

  it("the profile moved to an intermediate CA: the renewal is signed by it, with a chain openssl verifies to the root, and a new 17-byte serial", async () => {
    const owner = await setup("moved");
    const cert = (await issue(owner.clients, "moved", "moved.example.com")).certificate!;
    const inter = await createIntermediate(live, "moved-inter", rootId);
    await updateProfile(
      live,
      "moved",
      { issuer: { $case: "certificateAuthority", value: inter.id } },
      ["certificate_authority"],
    );
    const res = await renew(owner.clients, cert.certificateId);
    const succ = res.certificate!;
    const x = validity(succ.certificatePem).x;
    expect(x.issuer).toBe(validity(inter.certificatePem).x.subject);
    expect(x.checkIssued(validity(inter.certificatePem).x)).toBe(true);
    expect(succ.issuingCaCertificatePem.trim()).toBe(inter.certificatePem.trim());
    const verdict = opensslVerify(succ.certificatePem, succ.certificateChainPem, rootPem);
    expect(verdict.output).toMatch(/OK/);
    expect(verdict.ok).toBe(true);
    // README: 17 bytes, a fixed prefix, the issuing second and 96 random bits.
    expect(succ.serialNumber).not.toBe(cert.serialNumber);
    expect(x.serialNumber.replace(/^0+/, "").length).toBeGreaterThanOrEqual(31);
    const got = await call(live.admin.certificates, "getCertificate", {
      certificate: succ.certificateId,
    });
    expect(got.certificate!.certificateAuthorityId).toBe(inter.id);
    expect(got.certificate!.renewedFromCertificateId).toBe(cert.certificateId);
  });

  it("an issuer that ends before the renewal would: FAIL refuses it (VALIDITY_EXCEEDS_ISSUER, nothing signed); TRUNCATE cuts it to the issuer's end, and openssl verifies it", async () => {
    const owner = await setup("short");
    const cert = (
      await issue(owner.clients, "short", "short.example.com", { ttl: seconds(6 * 3600) })
    ).certificate!;
    const shortRoot = await createRoot(live, "short-root", 3 * 3600);
    await updateProfile(
      live,
      "short",
      { issuer: { $case: "certificateAuthority", value: shortRoot.id } },
      ["certificate_authority"],
    );
    const before = await rows(live);
    const e = await expectRpcError(renew(owner.clients, cert.certificateId));
    expect([e.code, e.reason]).toEqual([status.FAILED_PRECONDITION, "VALIDITY_EXCEEDS_ISSUER"]);
    expect((await rows(live)).certificates).toBe(before.certificates);

    await updateProfile(
      live,
      "short",
      { validityOverflow: ValidityOverflow.VALIDITY_OVERFLOW_TRUNCATE },
      ["validity_overflow"],
    );
    const res = await renew(owner.clients, cert.certificateId);
    const caEnd = validity(shortRoot.certificatePem).notAfter;
    const caStart = validity(shortRoot.certificatePem).notBefore;
    const { notBefore, notAfter } = validity(res.certificate!.certificatePem);
    expect(notAfter.getTime()).toBeLessThanOrEqual(caEnd.getTime());
    expect(notBefore.getTime()).toBeGreaterThanOrEqual(caStart.getTime());
    expect(opensslVerify(res.certificate!.certificatePem, [], shortRoot.certificatePem).ok).toBe(
      true,
    );
  });

  it("a revoked issuer CA: the renewal is refused FAILED_PRECONDITION with a reason naming it, nothing signed", async () => {
    const owner = await setup("revca");
    const inter = await createIntermediate(live, "revca-inter", rootId);
    await updateProfile(
      live,
      "revca",
      { issuer: { $case: "certificateAuthority", value: inter.id } },
      ["certificate_authority"],
    );
    const cert = (await issue(owner.clients, "revca", "revca.example.com")).certificate!;
    await call(
      live.admin.authorities,
      "revokeCertificateAuthority",
      RevokeCertificateAuthorityRequest.fromPartial({
        certificateAuthority: inter.id,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    const before = await rows(live);
    for (const keySource of [
      RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    ]) {
      const e = await expectRpcError(renew(live.admin, cert.certificateId, { keySource }));
      expect(e.code).toBe(status.FAILED_PRECONDITION);
      expect(e.reason).toMatch(/REVOKED/);
    }
    expect((await rows(live)).certificates).toBe(before.certificates);
  });

  it("a profile deleted with force: the admin's renewal is FAILED_PRECONDITION PROFILE_DELETED, the former owner's and another issuer's NOT_FOUND as a missing id; nothing signed", async () => {
    const owner = await setup("gone");
    const cert = (await issue(owner.clients, "gone", "gone.example.com")).certificate!;
    await call(live.admin.profiles, "deleteCertificateProfile", {
      certificateProfile: "gone",
      force: true,
      etag: "",
    });
    const stranger = await setup("stranger");
    const before = await rows(live);
    const admin = await expectRpcError(renew(live.admin, cert.certificateId));
    const theirs = await expectRpcError(renew(owner.clients, cert.certificateId));
    const strangers = await expectRpcError(renew(stranger.clients, cert.certificateId));
    const missing = await expectRpcError(
      renew(stranger.clients, "01a24e3a-0000-7000-8000-000000000000"),
    );
    expect(await rows(live)).toEqual(before);
    // README: a certificate on a profile the token does not list is answered exactly as an id
    // that does not exist; a deleted profile is on no token.
    expect(missing.reason).toBe("CERTIFICATE_NOT_FOUND");
    expect([strangers.code, strangers.reason]).toEqual([status.NOT_FOUND, "CERTIFICATE_NOT_FOUND"]);
    // The certificate exists (the admin reads it); what is gone is its profile. The request
    // named no profile: NOT_FOUND CERTIFICATE_PROFILE_NOT_FOUND reads as "the thing you named
    // does not exist" (AIP-193), where the state of the certificate is the reason (src has
    // FAILED_PRECONDITION PROFILE_DELETED for it, renewal-plan.ts assertRenewable, never reached).
    const got = await call(live.admin.certificates, "getCertificate", {
      certificate: cert.certificateId,
    });
    expect(got.certificate!.id).toBe(cert.certificateId);
    // The former owner's token lists the profile no more (the deletion took it off, and since
    // stop 51 its cached credential is read again at once): the certificate is on no profile of
    // its token, answered as a missing id, like the stranger's.
    expect({
      admin: [admin.code, admin.reason],
      formerOwner: [theirs.code, theirs.reason],
    }).toEqual({
      admin: [status.FAILED_PRECONDITION, "PROFILE_DELETED"],
      formerOwner: [status.NOT_FOUND, "CERTIFICATE_NOT_FOUND"],
    });
  });

  it("a chain of renewals: each successor a new serial with 96 random bits, validity inside the root's, the renewed one linked and still valid (not revoked)", async () => {
    const owner = await setup("chain");
    let id = (await issue(owner.clients, "chain", "chain.example.com")).certificate!.certificateId;
    const serials: string[] = [];
    const rootEnd = validity(rootPem).notAfter;
    for (let i = 0; i < 5; i++) {
      const res = await renew(owner.clients, id);
      const succ = res.certificate!;
      const x = validity(succ.certificatePem);
      expect(x.notAfter.getTime()).toBeLessThanOrEqual(rootEnd.getTime());
      serials.push(x.x.serialNumber.toLowerCase());
      const old = (await call(live.admin.certificates, "getCertificate", { certificate: id }))
        .certificate!;
      expect(old.renewedByCertificateId).toBe(succ.certificateId);
      expect(old.revokeTime).toBeUndefined();
      const e = await expectRpcError(renew(owner.clients, id));
      expect([e.code, e.reason]).toEqual([
        status.FAILED_PRECONDITION,
        "CERTIFICATE_ALREADY_RENEWED",
      ]);
      id = succ.certificateId;
    }
    expect(new Set(serials).size).toBe(serials.length);
    // The last 12 bytes (96 random bits) of any two differ.
    const tails = serials.map((s) => s.padStart(34, "0").slice(-24));
    expect(new Set(tails).size).toBe(tails.length);
  });

  it("the renewed certificate revoked after its renewal (superseded): the successor stays valid and current; a key compromise of a REUSE predecessor reaches the successor", async () => {
    const owner = await setup("after");
    const a = (await issue(owner.clients, "after", "after.example.com")).certificate!;
    const b = (await renew(owner.clients, a.certificateId)).certificate!; // NEW key
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: a.certificateId,
      reason: RevocationReason.REVOCATION_REASON_SUPERSEDED,
    });
    const gotB = (
      await call(live.admin.certificates, "getCertificate", { certificate: b.certificateId })
    ).certificate!;
    expect(gotB.revokeTime).toBeUndefined();
    const current = await call(owner.clients.certificates, "getCurrentCertificate", {
      certificate: a.certificateId,
    });
    expect(current.certificate!.id).toBe(b.certificateId);

    const c = (
      await renew(owner.clients, b.certificateId, {
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
      })
    ).certificate!;
    await call(live.admin.certificates, "revokeCertificate", {
      certificate: b.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const gotC = (
      await call(live.admin.certificates, "getCertificate", { certificate: c.certificateId })
    ).certificate!;
    expect(gotC.revokeTime).toBeDefined();
    expect(gotC.revocationReason).toBe(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
  });

  it("four renewals sent together by the owner with one request_id (NEW key, RETURN_ONCE): one successor, every answer the same certificate and key", async () => {
    const owner = await setup("same");
    const cert = (await issue(owner.clients, "same", "same.example.com")).certificate!;
    const answers = await Promise.all(
      Array.from({ length: 4 }, () =>
        renew(owner.clients, cert.certificateId, {
          requestId: "same-renewal-1",
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
        }),
      ),
    );
    expect(await successors(cert.certificateId)).toBe(1);
    expect(new Set(answers.map((a) => a.certificate!.certificateId)).size).toBe(1);
    expect(new Set(answers.map((a) => a.privateKeyPem)).size).toBe(1);
    expect(answers[0]!.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    const x = validity(answers[0]!.certificate!.certificatePem).x;
    expect(x.checkPrivateKey(createPrivateKey(answers[0]!.privateKeyPem))).toBe(true);
  });
});
