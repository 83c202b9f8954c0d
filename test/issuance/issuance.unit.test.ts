/**
 * The issuance use cases (issue, approve, reject, GetRequestStatus) against the in-memory store
 * (memory-store.ts): no database, no server. They pin what each step writes, in which order,
 * and what a refusal leaves behind; test/certificates/ runs the same flows end to end over
 * gRPC on PostgreSQL.
 */
import { randomBytes, randomUUID, X509Certificate } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/auth/rate-limiter";
import { isCertmintError } from "../../src/errors";
import { AUTO_RENEWAL_ACTOR } from "../../src/issuance/auto-renewal/renewer";
import { CaKeyring } from "../../src/issuance/ca/keyring";
import type { Actor, Call } from "../../src/issuance/call";
import { approve, reject } from "../../src/issuance/certificates/approval";
import { issue } from "../../src/issuance/certificates/issue";
import { requestStatus } from "../../src/issuance/certificates/status";
import type { IssueInput } from "../../src/issuance/certificates/types";
import type { IssuanceDeps } from "../../src/issuance/deps";
import { presetSpec } from "../../src/issuance/policy-engine";
import { generateKeyPair } from "../../src/signer";
import { MemoryStore } from "./memory-store";

const NOW = new Date("2026-06-01T12:00:00Z");
/** The profiles the two tokens act on: the one seed() makes. */
const granted: string[] = [];
const requester: Actor = { id: randomUUID(), slug: "svc", role: "ISSUER", profileIds: granted };
const approver: Actor = { id: randomUUID(), slug: "ops", role: "APPROVER", profileIds: granted };
const callOf = (actor: Actor): Call => ({
  actor,
  method: "/certmint.v1.CertificateService/IssueCertificate",
  traceId: "trace",
  peer: "test",
});

/** An approval's call: audited under its own method, as the server's are. */
const approveCallOf = (actor: Actor): Call => ({
  ...callOf(actor),
  method: "/certmint.v1.CertificateService/ApproveCertificateRequest",
});

/** A self-signed TLS server profile: certmint makes the key (P-256), DNS names under example.test. */
function seed(memory: MemoryStore, settings: { requireApproval?: boolean } = {}) {
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
    requireApproval: settings.requireApproval ?? false,
    allowSelfApproval: false,
    validityOverflow: "FAIL",
    privateKeyRetention: "RETURN_ONCE",
    acmeRequireEab: false,
    version: 1,
    createdAt: NOW,
    updatedAt: NOW,
  });
  granted.splice(0, granted.length, profileId);
  return { profileId };
}

const request = (overrides: Partial<IssueInput> = {}): IssueInput => ({
  caller: requester.id,
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
  ...overrides,
});

/** The error a use case throws, for assertions on its kind and details. */
async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (err) {
    if (isCertmintError(err)) return err;
    throw err;
  }
  throw new Error("the use case did not refuse");
}

describe("issuance use cases on the in-memory store", () => {
  let memory: MemoryStore;
  let deps: IssuanceDeps;

  beforeEach(() => {
    memory = new MemoryStore();
    deps = {
      store: memory.store,
      keyring: new CaKeyring(randomBytes(32)),
      keys: { generate: (alg) => generateKeyPair(alg) },
      now: () => NOW,
      crlValiditySeconds: 3600,
      generatedKeyReplaySeconds: 600,
    };
  });

  it("limits the refusals a token has recorded, not certmint's own (automatic renewal)", async () => {
    seed(memory);
    deps.refusalLimit = new RateLimiter(1, 1, () => 0);
    const bad = (caller: string) =>
      request({
        caller,
        source: {
          kind: "ATTRIBUTES",
          subject: { attributes: [{ type: "COMMON_NAME", value: "api.example.org" }] },
          sans: { dns: ["api.example.org"], ip: [], email: [], uri: [] },
          keyAlgorithm: "EC_P256",
        },
      });
    const first = await refusal(issue(deps, callOf(requester), bad(requester.id)));
    expect(first).toMatchObject({ kind: "invalid_argument" });
    const second = await refusal(issue(deps, callOf(requester), bad(requester.id)));
    expect(second).toMatchObject({ kind: "resource_exhausted", reason: "REFUSALS_LIMITED" });
    expect(second.violations).toEqual(first.violations);
    const failed = () => [...memory.requests.values()].filter((r) => r.status === "FAILED");
    expect(failed()).toHaveLength(1);
    // certmint's own calls (the renewer's actor) are never limited: each refusal is recorded.
    for (let i = 0; i < 3; i++) {
      const own = await refusal(issue(deps, callOf(AUTO_RENEWAL_ACTOR), bad(requester.id)));
      expect(own).toMatchObject({ kind: "invalid_argument" });
    }
    expect(failed()).toHaveLength(4);
  });

  it("issue signs, then stores the request ISSUED (its serial kept), the certificate and the audit record at once", async () => {
    seed(memory);
    const outcome = await issue(deps, callOf(requester), request({ idempotencyKey: "r1" }));
    expect(outcome.status).toBe("ISSUED");
    const stored = memory.requests.get(outcome.certificateRequestId)!;
    expect(stored).toMatchObject({ status: "ISSUED", idempotencyKey: "r1", kind: "ISSUE" });
    const cert = new X509Certificate(outcome.certificate!.certificatePem);
    expect(cert.serialNumber.toLowerCase()).toBe(stored.reservedSerial);
    expect(cert.subjectAltName).toBe("DNS:api.example.test");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(outcome.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    const certificate = memory.certificates.get(stored.certificateId!)!;
    expect(certificate).toMatchObject({ owner: requester.id, certificateRequestId: stored.id });
    // The generated key waits sealed on the request, for replays only (RETURN_ONCE).
    expect(stored.sealedPrivateKey).not.toBeNull();
    expect(stored.keyHeldUntil).toEqual(new Date(NOW.getTime() + 600_000));
    // One audit record, written with the certificate.
    expect(memory.audit.map((a) => [a.resourceType, a.resourceId, a.statusCode])).toEqual([
      ["certificate_request", stored.id, 0],
    ]);
  });

  it("a repeated request_id returns the same certificate and key; another request under it is ALREADY_EXISTS", async () => {
    seed(memory);
    const first = await issue(deps, callOf(requester), request({ idempotencyKey: "r1" }));
    const again = await issue(deps, callOf(requester), request({ idempotencyKey: "r1" }));
    expect(again.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(again.privateKeyPem).toBe(first.privateKeyPem);
    const other = await refusal(
      issue(deps, callOf(requester), request({ idempotencyKey: "r1", ttlSeconds: 7200 })),
    );
    expect(other).toMatchObject({ kind: "already_exists", reason: "REQUEST_ID_REUSED" });
    expect(memory.requests.size).toBe(1);
    expect(memory.certificates.size).toBe(1);
  });

  it("a policy violation is recorded as a FAILED request with its audit record, and nothing is signed", async () => {
    seed(memory);
    const bad = request({
      source: {
        kind: "ATTRIBUTES",
        subject: { attributes: [{ type: "COMMON_NAME", value: "api.other.test" }] },
        sans: { dns: ["api.other.test"], ip: [], email: [], uri: [] },
        keyAlgorithm: "EC_P256",
      },
    });
    const err = await refusal(issue(deps, callOf(requester), bad));
    expect(err).toMatchObject({ kind: "invalid_argument", reason: "POLICY_VIOLATION" });
    expect(err.violations.map((v) => v.field)).toContain(
      "attributes.subject_alternative_names.dns_names[0]",
    );
    const [failed] = [...memory.requests.values()];
    expect(failed).toMatchObject({ status: "FAILED", reservedSerial: null });
    expect(failed!.error?.reason).toBe("POLICY_VIOLATION");
    expect(err.metadata.certificate_request_id).toBe(failed!.id);
    expect(memory.certificates.size).toBe(0);
    expect(memory.audit.map((a) => [a.resourceId, a.errorReason])).toEqual([
      [failed!.id, "POLICY_VIOLATION"],
    ]);
  });

  it("validate_only checks everything and writes nothing", async () => {
    seed(memory);
    const outcome = await issue(deps, callOf(requester), request({ validateOnly: true }));
    expect(outcome).toMatchObject({ validated: true, certificateRequestId: "" });
    expect(memory.requests.size + memory.certificates.size + memory.audit.length).toBe(0);
  });

  it("an issuer without the profile is PERMISSION_DENIED before anything is written", async () => {
    seed(memory);
    const stranger: Actor = { ...requester, id: randomUUID(), profileIds: [randomUUID()] };
    const err = await refusal(issue(deps, callOf(stranger), request()));
    expect(err).toMatchObject({ kind: "permission_denied", reason: "PROFILE_NOT_GRANTED" });
    expect(memory.requests.size + memory.audit.length).toBe(0);
  });

  it("a profile that needs approval records PENDING_APPROVAL; another approver's approval signs it and the key waits for the requester", async () => {
    seed(memory, { requireApproval: true });
    const waiting = await issue(deps, callOf(requester), request({ idempotencyKey: "r1" }));
    expect(waiting.status).toBe("PENDING_APPROVAL");
    expect(memory.requests.get(waiting.certificateRequestId)!.reservedSerial).toBeNull();

    const self = await refusal(
      approve(deps, approveCallOf(requester), waiting.certificateRequestId),
    );
    expect(self).toMatchObject({ kind: "permission_denied", reason: "SELF_APPROVAL_NOT_ALLOWED" });

    const approved = await approve(deps, approveCallOf(approver), waiting.certificateRequestId);
    expect(approved.status).toBe("ISSUED");
    expect(approved).not.toHaveProperty("sealedPrivateKey");
    const stored = memory.requests.get(approved.id)!;
    expect(stored.keyHeldUntil).toBeNull(); // waits for the requester's first fetch

    // The approver sees the certificate without the key; the requester gets it, and again
    // within its replay window (which its first fetch started).
    const seen = await requestStatus(deps, callOf(approver), approved.id);
    expect(seen.privateKeyPem).toBeUndefined();
    const fetched = await requestStatus(deps, callOf(requester), approved.id);
    expect(fetched.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(
      new X509Certificate(fetched.certificate!.certificatePem).serialNumber.toLowerCase(),
    ).toBe(stored.reservedSerial);
    expect(memory.requests.get(approved.id)!.keyHeldUntil).toBeInstanceOf(Date);
    const again = await requestStatus(deps, callOf(requester), approved.id);
    expect(again.privateKeyPem).toBe(fetched.privateKeyPem);

    // The approver's retry answers as its approval did; the requester's is still refused.
    const twice = await approve(deps, approveCallOf(approver), approved.id);
    expect(twice).toMatchObject({ id: approved.id, status: "ISSUED" });
    const other = await refusal(approve(deps, approveCallOf(requester), approved.id));
    expect(other).toMatchObject({ reason: "REQUEST_NOT_PENDING_APPROVAL" });
  });

  it("a rejected request keeps the approver's reason and can no longer be approved", async () => {
    seed(memory, { requireApproval: true });
    const waiting = await issue(deps, callOf(requester), request());
    const rejected = await reject(deps, callOf(approver), waiting.certificateRequestId, "no");
    expect(rejected).toMatchObject({ status: "REJECTED" });
    expect(rejected.error?.message).toBe("rejected by an approver: no");
    const late = await refusal(approve(deps, approveCallOf(approver), rejected.id));
    expect(late).toMatchObject({ reason: "REQUEST_NOT_PENDING_APPROVAL" });
    expect(memory.certificates.size).toBe(0);
  });

  it("a crash before the commit leaves nothing behind, and the replay simply issues", async () => {
    seed(memory);
    const crashing = { ...memory.store };
    crashing.issuance = {
      ...memory.store.issuance,
      storeIssuance: async () => {
        throw new Error("the replica died");
      },
    };
    await expect(
      issue({ ...deps, store: crashing }, callOf(requester), request({ idempotencyKey: "r1" })),
    ).rejects.toThrow("the replica died");
    expect(memory.requests.size + memory.certificates.size + memory.audit.length).toBe(0);

    const replayed = await issue(deps, callOf(requester), request({ idempotencyKey: "r1" }));
    expect(replayed.status).toBe("ISSUED");
    expect(memory.requests.size).toBe(1);
    expect(memory.certificates.size).toBe(1);
  });

  it("of two calls with one request_id that both signed, the second stores nothing and answers the first's certificate and key", async () => {
    seed(memory);
    // Both calls miss each other's request when they read (they run at once): each signs.
    const blind = { ...memory.store };
    blind.issuance = {
      ...memory.store.issuance,
      findProfileAndPrior: (key, _prior) => memory.store.issuance.findProfileAndPrior(key),
    };
    const racing = { ...deps, store: blind };
    const first = await issue(racing, callOf(requester), request({ idempotencyKey: "r1" }));
    const second = await issue(racing, callOf(requester), request({ idempotencyKey: "r1" }));
    expect(second).toEqual(first);
    expect(second.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(memory.requests.size).toBe(1);
    expect(memory.certificates.size).toBe(1);
    expect(memory.audit).toHaveLength(1);
  });

  it("a serial already taken is replaced: the certificate is signed again under a fresh serial", async () => {
    seed(memory);
    const tried: string[] = [];
    const unlucky = { ...memory.store };
    unlucky.issuance = {
      ...memory.store.issuance,
      storeIssuance: async (issuance) => {
        tried.push(issuance.certificate.serialNumber);
        if (tried.length === 1) return "serial-taken";
        return memory.store.issuance.storeIssuance(issuance);
      },
    };
    const outcome = await issue({ ...deps, store: unlucky }, callOf(requester), request());
    expect(outcome.status).toBe("ISSUED");
    expect(tried).toHaveLength(2);
    expect(tried[1]).not.toBe(tried[0]);
    const cert = new X509Certificate(outcome.certificate!.certificatePem);
    expect(cert.serialNumber.toLowerCase()).toBe(tried[1]);
    expect(memory.requests.get(outcome.certificateRequestId)!.reservedSerial).toBe(tried[1]);
    expect(memory.certificates.size).toBe(1);
  });

  it("a request left PENDING by a version that recorded the intent first is finished by its replay, under the serial reserved for it", async () => {
    seed(memory);
    // Such a version committed the request PENDING with its serial, then died before storing.
    const older = { ...memory.store };
    older.issuance = {
      ...memory.store.issuance,
      storeIssuance: async ({ request: r }) => {
        memory.requests.set(r.id, {
          ...structuredClone(r),
          status: "PENDING",
          certificateId: null,
          sealedPrivateKey: null,
          keyHeldUntil: null,
        });
        throw new Error("the replica died");
      },
    };
    await expect(
      issue({ ...deps, store: older }, callOf(requester), request({ idempotencyKey: "r1" })),
    ).rejects.toThrow("the replica died");
    const [orphan] = [...memory.requests.values()];
    expect(orphan).toMatchObject({ status: "PENDING" });
    expect(orphan!.reservedSerial).toMatch(/^[0-9a-f]+$/);

    // The replay finds it PENDING with its lock free: it takes it over and signs it.
    const replayed = await issue(deps, callOf(requester), request({ idempotencyKey: "r1" }));
    expect(replayed).toMatchObject({ status: "ISSUED", certificateRequestId: orphan!.id });
    const cert = new X509Certificate(replayed.certificate!.certificatePem);
    expect(cert.serialNumber.toLowerCase()).toBe(orphan!.reservedSerial);
    expect(memory.requests.size).toBe(1);
    expect(memory.certificates.size).toBe(1);
    // The key was made again for the takeover, and the replay returns it.
    expect(replayed.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
  });
});
