/**
 * Probe 50 (RACES): UpdateCertificatePolicy tightening a policy (its DNS rule, max_ttl and key
 * algorithms, in one update) while IssueCertificate calls are in flight on two replicas. Every
 * certificate stored must be what the policy as it was before, or as it is after, makes of its
 * request (never a mix), and none stored after the update answered may be one only the old
 * policy allowed: the update's answer is the moment an operator relies on.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
  UpdateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  ValidityOverflow,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { Role, token } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  certificateIds,
  DAY,
  issue,
  issueRequest,
  outcome,
  type ReplicaPair,
  raceAgainst,
  seconds,
  startPair,
  storedCertificates,
} from "./race-kit";

const ROUNDS = 6;
const OLD = {
  dns: ["**.example.com"],
  keys: [KeyAlgorithm.KEY_ALGORITHM_EC_P256, KeyAlgorithm.KEY_ALGORITHM_RSA_2048],
  maxTtl: 30 * DAY,
};
const NEW = {
  dns: ["**.new.example.com"],
  keys: [KeyAlgorithm.KEY_ALGORITHM_EC_P256],
  maxTtl: DAY,
};

/**
 * The requests of one round and what each policy makes of them: the span (notAfter -
 * notBefore) of the certificate, or undefined for a refusal. A TTL over max_ttl is truncated
 * (the profile says so) to a period of exactly max_ttl, i.e. a span of max_ttl - 1 s.
 */
const KINDS = [
  {
    kind: "old-name",
    name: (r: number, i: number) => `o${r}-${i}.example.com`,
    ttl: 10 * DAY,
    key: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    old: 10 * DAY + 60,
    new: undefined,
  },
  {
    kind: "truncated",
    name: (r: number, i: number) => `t${r}-${i}.new.example.com`,
    ttl: 10 * DAY,
    key: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    old: 10 * DAY + 60,
    new: DAY - 1,
  },
  {
    kind: "rsa",
    name: (r: number, i: number) => `k${r}-${i}.new.example.com`,
    ttl: 3600,
    key: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
    old: 3660,
    new: undefined,
  },
  {
    kind: "rsa-old-name",
    name: (r: number, i: number) => `x${r}-${i}.example.com`,
    ttl: 3600,
    key: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
    old: 3660,
    new: undefined,
  },
] as const;
const PER_KIND = 2;

describe("probe50 RACES: a policy tightened while certificates are issued", {
  timeout: 2 * START_LIMIT_MS + 120_000,
}, () => {
  let pair: ReplicaPair;
  let profileId: string;
  let issuers: CertmintClients[];
  let approvers: CertmintClients[];

  const setPolicy = (admin: CertmintClients, p: typeof OLD) =>
    call(
      admin.policies,
      "updateCertificatePolicy",
      UpdateCertificatePolicyRequest.fromPartial({
        certificatePolicy: {
          slug: "tight-policy",
          sanRules: { dns: { allowed: p.dns } },
          keyAlgorithms: { allowed: p.keys },
          maxTtl: seconds(p.maxTtl),
        },
        updateMask: ["san_rules.dns", "key_algorithms", "max_ttl"],
      }),
    );

  beforeAll(async () => {
    pair = await startPair();
    const { live } = pair;
    const root = await call(
      live.admin.authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "tight-root",
        subject: { commonName: "tight root" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    await call(
      live.admin.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug: "tight-policy",
          sanRules: { dns: { allowed: OLD.dns } },
          subjectRules: { commonName: { allowed: ["*"] } },
          keyAlgorithms: { allowed: OLD.keys },
          maxTtl: seconds(OLD.maxTtl),
        },
      }),
    );
    const profile = await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "tight",
          certificatePolicy: "tight-policy",
          issuer: { $case: "certificateAuthority", value: root.certificateAuthority!.id },
          validityOverflow: ValidityOverflow.VALIDITY_OVERFLOW_TRUNCATE,
          defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
        },
      }),
    );
    profileId = profile.certificateProfile!.id;
    await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "tight-gated",
          certificatePolicy: "tight-policy",
          issuer: { $case: "certificateAuthority", value: root.certificateAuthority!.id },
          requireApproval: true,
          defaults: { ttl: seconds(3600), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
        },
      }),
    );
    const t = await token(live, "tight-issuer", Role.ROLE_ISSUER, ["tight", "tight-gated"]);
    issuers = [t.clients, pair.onReplica(t.secret)];
    const a = await token(live, "tight-approver", Role.ROLE_APPROVER, ["tight-gated"]);
    approvers = [a.clients, pair.onReplica(a.secret)];
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it("every certificate is the old or the new policy's outcome; none stored after the update answered is the old one's", async () => {
    const { live } = pair;
    const lateOld: string[] = [];
    const mixed: string[] = [];
    let refusedAfterAll = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await setPolicy(live.admin, OLD);
      const admin = round % 2 === 0 ? live.admin : pair.adminB;
      // PER_KIND racers of each kind, and one more of each sent once the update answered.
      const requests = KINDS.flatMap((k) =>
        Array.from({ length: PER_KIND + 1 }, (_, i) => ({
          k,
          name: k.name(round, i),
          on: issuers[(i + round) % 2]!,
          follows: i === PER_KIND,
        })),
      );
      const send = (q: (typeof requests)[number]) => () =>
        issue(q.on, issueRequest("tight", [q.name], { ttl: q.k.ttl, keyAlgorithm: q.k.key }));
      const racing = requests.filter((q) => !q.follows);
      const following = requests.filter((q) => q.follows);
      const { results, followed, before } = await raceAgainst(
        () => setPolicy(admin, NEW),
        racing.map(send),
        () => certificateIds(live, "profile_id = $1", [profileId]),
        following.map(send),
      );
      const asked = [...racing, ...following];
      for (const [i, r] of [...results, ...followed].entries()) {
        if (!r.ok) {
          refusedAfterAll += 1;
          expect(r.error.code, `${asked[i]!.name}: ${r.error.message}`).toBe(
            status.INVALID_ARGUMENT,
          );
        }
      }
      const stored = await storedCertificates(live, "profile_id = $1 and common_name like $2", [
        profileId,
        `%${round}-%`,
      ]);
      for (const c of stored) {
        const q = requests.find((x) => x.name === c.dnsNames[0]);
        if (!q) continue;
        const isOld =
          Math.abs(c.spanSeconds - q.k.old) <= 1 &&
          (q.k.key === KeyAlgorithm.KEY_ALGORITHM_RSA_2048
            ? c.rsaBits === 2048
            : c.keyType === "ec");
        const isNew =
          q.k.new !== undefined && Math.abs(c.spanSeconds - q.k.new) <= 1 && c.keyType === "ec";
        if (!isOld && !isNew) mixed.push(`${q.name} span ${c.spanSeconds}s ${c.keyType}`);
        if ((q.follows || !before.has(c.id)) && !isNew)
          lateOld.push(
            `round ${round}: ${q.name} (${q.k.kind}${q.follows ? ", sent after the update answered" : ""})`,
          );
      }
    }
    await setPolicy(live.admin, OLD);
    expect(mixed, "certificates no single version of the policy makes").toEqual([]);
    expect(
      lateOld,
      "certificates only the old policy allows, stored after UpdateCertificatePolicy answered",
    ).toEqual([]);
    // The new policy was in force for the calls sent after it answered.
    expect(refusedAfterAll).toBeGreaterThan(0);
  });

  it("approvals in flight: none stores after the update answered what only the old policy allows", async () => {
    const { live } = pair;
    const late: string[] = [];
    let refused = 0;
    for (let round = 0; round < 4; round++) {
      await setPolicy(live.admin, OLD);
      // Waiting requests the old policy allows and the new one refuses (name and key).
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await issue(
          issuers[i % 2]!,
          issueRequest("tight-gated", [`a${round}-${i}.example.com`], {
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
          }),
        );
        if (!r.ok) throw new Error(r.error.message);
        ids.push(r.res.certificateRequestId);
      }
      const { results, before } = await raceAgainst(
        () => setPolicy(round % 2 ? pair.adminB : live.admin, NEW),
        ids.map(
          (id, i) => () =>
            outcome(
              call(approvers[i % 2]!.certificates, "approveCertificateRequest", {
                certificateRequestId: id,
                comment: "",
              }),
            ),
        ),
        () => certificateIds(live, "certificate_request_id = any($1::uuid[])", [ids]),
      );
      refused += results.filter((r) => !r.ok).length;
      const after = await certificateIds(live, "certificate_request_id = any($1::uuid[])", [ids]);
      for (const id of after) if (!before.has(id)) late.push(`round ${round}: certificate ${id}`);
    }
    await setPolicy(live.admin, OLD);
    expect(
      late,
      "approved certificates only the old policy allows, stored after UpdateCertificatePolicy answered",
    ).toEqual([]);
    expect(refused).toBeGreaterThan(0);
  });
});
