/**
 * RenewCertificate and RevokeCertificate against the in-memory store (memory-store.ts): what a
 * renewal links and stores, what each refusal leaves unwritten, and the current certificate of
 * a lineage. test/certificates/renewal*.test.ts and test/renewal/watch-access.test.ts run the
 * same over gRPC on PostgreSQL.
 */
import { randomBytes, randomUUID, X509Certificate } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { isCertmintError } from "../../src/errors";
import { CaKeyring } from "../../src/issuance/ca/keyring";
import type { Actor, Call } from "../../src/issuance/call";
import { issue } from "../../src/issuance/certificates/issue";
import { renew } from "../../src/issuance/certificates/renew";
import { revoke } from "../../src/issuance/certificates/revoke";
import type { IssuanceDeps } from "../../src/issuance/deps";
import { currentCertificate } from "../../src/issuance/events/lineage";
import { presetSpec } from "../../src/issuance/policy-engine";
import { generateKeyPair } from "../../src/signer";
import { MemoryStore } from "./memory-store";

const NOW = new Date("2026-06-01T12:00:00Z");
const granted: string[] = [];
const owner: Actor = { id: randomUUID(), slug: "svc", role: "ISSUER", profileIds: granted };
const colleague: Actor = { id: randomUUID(), slug: "svc-2", role: "ISSUER", profileIds: granted };
const admin: Actor = { id: randomUUID(), slug: "admin", role: "ADMIN", profileIds: [] };
const callOf = (actor: Actor): Call => ({ actor, method: "/test", traceId: "", peer: "" });

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    if (isCertmintError(err)) return err;
    throw err;
  }
  throw new Error("the use case did not refuse");
}

describe("renewal and revocation on the in-memory store", () => {
  let memory: MemoryStore;
  let deps: IssuanceDeps;
  let certificateId: string;

  beforeEach(async () => {
    memory = new MemoryStore();
    deps = {
      store: memory.store,
      keyring: new CaKeyring(randomBytes(32)),
      keys: { generate: (alg) => generateKeyPair(alg) },
      now: () => NOW,
      crlValiditySeconds: 3600,
      generatedKeyReplaySeconds: 0,
    };
    const spec = presetSpec("TLS_SERVER");
    spec.sans.dns = { allowed: ["*.example.test"], denied: [], required: false };
    spec.subject.COMMON_NAME = { allowed: ["*.example.test"], denied: [], required: false };
    const policyId = randomUUID();
    memory.policies.set(policyId, {
      id: policyId,
      slug: "tls",
      description: "",
      spec,
      version: 1,
      createdAt: NOW,
      updatedAt: NOW,
    });
    const profileId = randomUUID();
    memory.profiles.set(profileId, {
      id: profileId,
      slug: "web",
      description: "",
      policyId,
      caId: null,
      selfSigned: true,
      enrollmentMethod: "API",
      defaults: {},
      renewal: { autoRenew: false, renewBeforeDays: 0 },
      requireApproval: false,
      allowSelfApproval: false,
      validityOverflow: "FAIL",
      privateKeyRetention: "RETURN_ONCE",
      acmeRequireEab: false,
      version: 1,
      createdAt: NOW,
      updatedAt: NOW,
    });
    granted.splice(0, granted.length, profileId);
    const issued = await issue(deps, callOf(owner), {
      caller: owner.id,
      profile: "web",
      source: {
        kind: "ATTRIBUTES",
        subject: { attributes: [{ type: "COMMON_NAME", value: "api.example.test" }] },
        sans: { dns: ["api.example.test"], ip: [], email: [], uri: [] },
        keyAlgorithm: "EC_P256",
      },
      keyUsages: [],
      extendedKeyUsages: [],
      ttlSeconds: 3600,
      validateOnly: false,
    });
    certificateId = issued.certificate!.certificateId;
  });

  it("renews with a new key (certmint made the first), links both certificates, and refuses a second renewal", async () => {
    const renewed = await renew(deps, callOf(owner), {
      caller: owner.id,
      certificateId,
      validateOnly: false,
    });
    expect(renewed.status).toBe("ISSUED");
    const old = memory.certificates.get(certificateId)!;
    const successor = memory.certificates.get(renewed.certificate!.certificateId)!;
    expect(old.renewedById).toBe(successor.id);
    expect(successor).toMatchObject({ renewedFromId: old.id, owner: owner.id, sans: old.sans });
    expect(successor.serialNumber).not.toBe(old.serialNumber);
    const x509 = new X509Certificate(successor.certificatePem);
    expect(x509.subjectAltName).toBe("DNS:api.example.test");
    // The original lifetime, not a default.
    expect(successor.notAfter.getTime() - successor.notBefore.getTime()).toBe(
      old.notAfter.getTime() - old.notBefore.getTime(),
    );
    expect(new X509Certificate(old.certificatePem).publicKey.equals(x509.publicKey)).toBe(false);
    expect(memory.requests.get(successor.certificateRequestId)).toMatchObject({
      kind: "RENEW",
      renewalOfCertificateId: old.id,
    });

    const again = await refusal(
      renew(deps, callOf(owner), { caller: owner.id, certificateId, validateOnly: false }),
    );
    expect(again).toMatchObject({ reason: "CERTIFICATE_ALREADY_RENEWED" });
    expect(memory.certificates.size).toBe(2);
  });

  it("another issuer of the profile may not renew a certificate it does not own; an admin may", async () => {
    const err = await refusal(
      renew(deps, callOf(colleague), { caller: colleague.id, certificateId, validateOnly: false }),
    );
    expect(err).toMatchObject({ kind: "permission_denied", reason: "CERTIFICATE_NOT_OWNED" });
    expect(memory.requests.size).toBe(1);
    expect(memory.certificates.get(certificateId)!.renewedById).toBeNull();

    const byAdmin = await renew(deps, callOf(admin), {
      caller: admin.id,
      certificateId,
      validateOnly: false,
    });
    expect(byAdmin.status).toBe("ISSUED");
  });

  it("a revoked certificate is revoked once (the first reason stands) and cannot be renewed", async () => {
    const revoked = await revoke(deps, callOf(admin), {
      certificate: certificateId,
      reason: "KEY_COMPROMISE",
    });
    expect(revoked).toMatchObject({ revocationReason: "KEY_COMPROMISE", revokedAt: NOW });
    expect(revoked).not.toHaveProperty("sealedPrivateKey");
    const twice = await revoke(deps, callOf(admin), {
      certificate: revoked.serialNumber,
      reason: "SUPERSEDED",
    });
    expect(twice.revocationReason).toBe("KEY_COMPROMISE");

    const err = await refusal(
      renew(deps, callOf(owner), { caller: owner.id, certificateId, validateOnly: false }),
    );
    expect(err).toMatchObject({ kind: "failed_precondition", reason: "CERTIFICATE_REVOKED" });
    expect(memory.certificates.size).toBe(1);
  });

  it("keyCompromise on an ACME account's word (LINEAGE) revokes the key's renewals only and blocks nothing; on an admin's, every certificate of the key", async () => {
    // The profile is self-signed (no REUSE renewal): its certificate's renewal that kept the
    // key, and the same key outside the lineage (the same CSR sent twice), written as stored.
    const first = memory.certificates.get(certificateId)!;
    const copyOf = (over: Partial<typeof first>) => {
      const id = randomUUID();
      memory.certificates.set(id, {
        ...structuredClone(first),
        id,
        serialNumber: randomBytes(16).toString("hex"),
        renewedById: null,
        ...over,
      });
      return id;
    };
    const reusedId = copyOf({ renewedFromId: certificateId });
    first.renewedById = reusedId;
    const twinId = copyOf({});
    expect(first.spkiSha256).toMatch(/^[0-9a-f]{64}$/);

    await revoke(deps, callOf(owner), {
      certificate: certificateId,
      reason: "KEY_COMPROMISE",
      keyCompromiseScope: "LINEAGE",
    });
    expect(memory.certificates.get(reusedId)!.revocationReason).toBe("KEY_COMPROMISE");
    expect(memory.certificates.get(twinId)!.revokedAt).toBeNull();
    expect(memory.blockedKeys.size).toBe(0);

    await revoke(deps, callOf(admin), { certificate: reusedId, reason: "KEY_COMPROMISE" });
    expect(memory.certificates.get(twinId)!.revocationReason).toBe("KEY_COMPROMISE");
    expect([...memory.blockedKeys]).toEqual([first.spkiSha256]);
  });

  it("GetCurrentCertificate follows renewals to the newest certificate, for tokens of the profile only", async () => {
    const first = await renew(deps, callOf(owner), {
      caller: owner.id,
      certificateId,
      validateOnly: false,
    });
    const second = await renew(deps, callOf(owner), {
      caller: owner.id,
      certificateId: first.certificate!.certificateId,
      validateOnly: false,
    });
    const newest = second.certificate!.certificateId;
    const fromStart = await currentCertificate(deps, callOf(owner), certificateId);
    expect(fromStart.id).toBe(newest);
    expect(fromStart).not.toHaveProperty("sealedPrivateKey");
    const bySerial = memory.certificates.get(first.certificate!.certificateId)!.serialNumber;
    expect((await currentCertificate(deps, callOf(owner), bySerial)).id).toBe(newest);
    expect((await currentCertificate(deps, callOf(owner), newest)).id).toBe(newest);

    const outsider: Actor = { id: randomUUID(), slug: "other", role: "ISSUER", profileIds: [] };
    // Another profile's certificate is NOT_FOUND, exactly as one that does not exist.
    const err = await refusal(currentCertificate(deps, callOf(outsider), certificateId));
    const missingId = randomUUID();
    const missing = await refusal(currentCertificate(deps, callOf(outsider), missingId));
    expect(err).toMatchObject({ kind: "not_found", reason: "CERTIFICATE_NOT_FOUND", metadata: {} });
    expect(err.message).toBe(missing.message.replace(missingId, certificateId));
  });
});
