/**
 * Probe 50 (RACES): UpdateCertificateProfile while IssueCertificate calls are in flight on two
 * replicas. (a) The issuer switched to another CA together with the default TTL: each stored
 * certificate is one version of the profile entirely (old CA and old TTL, or new CA and new
 * TTL), and none stored after the update answered comes from the old CA. (b) Approval switched
 * on: nothing is stored without approval after the update answered.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateRequestStatus } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { Role, token } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  certificateIds,
  DAY,
  issue,
  issueRequest,
  type ReplicaPair,
  raceAgainst,
  seconds,
  startPair,
  storedCertificates,
} from "./race-kit";

const ROUNDS = 4;
const PER_ROUND = 6;
const OLD_TTL = 2 * 3600;
const NEW_TTL = 3 * 3600;

describe("probe50 RACES: a profile changed while certificates are issued", {
  timeout: 2 * START_LIMIT_MS + 150_000,
}, () => {
  let pair: ReplicaPair;
  let profileId: string;
  let issuers: CertmintClients[];
  const ca: Record<"a" | "b", { id: string; x509: X509Certificate }> = {} as never;

  const update = (admin: CertmintClients, fields: object, mask: string[]) =>
    call(
      admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: { slug: "moving", ...fields },
        updateMask: mask,
      }),
    );
  const toVersion = (admin: CertmintClients, which: "a" | "b") =>
    update(
      admin,
      {
        issuer: { $case: "certificateAuthority", value: ca[which].id },
        defaults: {
          ttl: seconds(which === "a" ? OLD_TTL : NEW_TTL),
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        },
      },
      ["certificate_authority", "defaults.ttl"],
    );
  const requests = (round: number, tag: string, n = PER_ROUND) =>
    Array.from({ length: n }, (_, i) => ({
      name: `${tag}${round}-${i}.example.com`,
      on: issuers[(i + round) % 2]!,
      key: i % 2 === 0 ? KeyAlgorithm.KEY_ALGORITHM_RSA_2048 : KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    }));

  beforeAll(async () => {
    pair = await startPair();
    const { live } = pair;
    for (const which of ["a", "b"] as const) {
      const res = await call(
        live.admin.authorities,
        "createRootCertificateAuthority",
        CreateRootCertificateAuthorityRequest.fromPartial({
          slug: `moving-root-${which}`,
          subject: { commonName: `moving root ${which}` },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      );
      ca[which] = {
        id: res.certificateAuthority!.id,
        x509: new X509Certificate(res.certificateAuthority!.certificatePem),
      };
    }
    await call(
      live.admin.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug: "moving-policy",
          sanRules: { dns: { allowed: ["**.example.com"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
          keyAlgorithms: {
            allowed: [KeyAlgorithm.KEY_ALGORITHM_EC_P256, KeyAlgorithm.KEY_ALGORITHM_RSA_2048],
          },
          maxTtl: seconds(30 * DAY),
        },
      }),
    );
    const profile = await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "moving",
          certificatePolicy: "moving-policy",
          issuer: { $case: "certificateAuthority", value: ca.a.id },
          defaults: { ttl: seconds(OLD_TTL), keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 },
        },
      }),
    );
    profileId = profile.certificateProfile!.id;
    const t = await token(live, "moving-issuer", Role.ROLE_ISSUER, ["moving"]);
    issuers = [t.clients, pair.onReplica(t.secret)];
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it("issuer and default TTL switched together: each certificate is one version entirely; none from the old CA after the update answered", async () => {
    const { live } = pair;
    const mixed: string[] = [];
    const late: string[] = [];
    let fromNew = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await toVersion(live.admin, "a");
      const qs = requests(round, "s");
      const after = requests(round, "f", 2);
      const send = (q: (typeof qs)[number]) => () =>
        issue(q.on, issueRequest("moving", [q.name], { keyAlgorithm: q.key }));
      const { results, followed, before } = await raceAgainst(
        () => toVersion(round % 2 === 0 ? live.admin : pair.adminB, "b"),
        qs.map(send),
        () => certificateIds(live, "profile_id = $1", [profileId]),
        after.map(send),
      );
      for (const r of [...results, ...followed]) expect(r.ok ? "" : r.error.message).toBe("");
      for (const c of await storedCertificates(live, "profile_id = $1 and common_name like $2", [
        profileId,
        `f${round}-%`,
      ]))
        if (c.caId !== ca.b.id || c.spanSeconds !== NEW_TTL + 60)
          late.push(`round ${round}: ${c.dnsNames[0]} sent after the update answered, old version`);
      const stored = await storedCertificates(live, "profile_id = $1 and common_name like $2", [
        profileId,
        `s${round}-%`,
      ]);
      expect(stored).toHaveLength(PER_ROUND);
      for (const c of stored) {
        const version =
          c.caId === ca.a.id && c.x509.verify(ca.a.x509.publicKey) && c.spanSeconds === OLD_TTL + 60
            ? "a"
            : c.caId === ca.b.id &&
                c.x509.verify(ca.b.x509.publicKey) &&
                c.spanSeconds === NEW_TTL + 60
              ? "b"
              : undefined;
        if (!version) mixed.push(`${c.dnsNames[0]}: CA ${c.caId}, span ${c.spanSeconds}s`);
        if (version === "b") fromNew += 1;
        if (!before.has(c.id) && version !== "b")
          late.push(`round ${round}: ${c.dnsNames[0]} (${c.keyType}) from the old CA`);
      }
    }
    expect(mixed, "certificates of no single version of the profile").toEqual([]);
    expect(late, "certificates of the old version stored after the update answered").toEqual([]);
    expect(fromNew).toBeGreaterThan(0);
  });

  it("approval switched on: nothing is stored without approval after the update answered", async () => {
    const { live } = pair;
    const late: string[] = [];
    let waiting = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await toVersion(live.admin, "a");
      await update(live.admin, { requireApproval: false }, ["require_approval"]);
      const qs = requests(round, "w");
      const send = (q: (typeof qs)[number]) => () =>
        issue(q.on, issueRequest("moving", [q.name], { keyAlgorithm: q.key }));
      const { results, followed, before } = await raceAgainst(
        () =>
          update(round % 2 === 0 ? pair.adminB : live.admin, { requireApproval: true }, [
            "require_approval",
          ]),
        qs.map(send),
        () => certificateIds(live, "profile_id = $1", [profileId]),
        requests(round, "g", 2).map(send),
      );
      for (const r of followed)
        expect(r.ok && r.res.status).toBe(
          CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL,
        );
      for (const r of results) {
        expect(r.ok ? "" : r.error.message).toBe("");
        if (
          r.ok &&
          r.res.status === CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL
        )
          waiting += 1;
      }
      const stored = await storedCertificates(live, "profile_id = $1 and common_name like $2", [
        profileId,
        `w${round}-%`,
      ]);
      for (const c of stored)
        if (!before.has(c.id)) late.push(`round ${round}: ${c.dnsNames[0]} (${c.keyType})`);
    }
    await update(live.admin, { requireApproval: false }, ["require_approval"]);
    expect(late, "certificates stored without approval after approval was switched on").toEqual([]);
    expect(waiting).toBeGreaterThan(0);
  });
});
