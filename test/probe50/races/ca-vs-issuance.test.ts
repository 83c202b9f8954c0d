/**
 * Probe 50 (RACES): a CA disabled, or revoked (itself or its parent), while issuances and
 * renewals under it are in flight on two replicas. Nothing under it may be stored after the
 * disable or revocation answered; every certificate it signed is dated no later than its
 * revocation, and lies within its issuer's validity (and the issuer within its parent's).
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityStatus,
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
  UpdateCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { RenewCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { Role, token } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  certificateIds,
  DAY,
  issue,
  issueRequest,
  type Outcome,
  outcome,
  type ReplicaPair,
  raceAgainst,
  seconds,
  startPair,
  storedCertificates,
} from "./race-kit";

const RSA = KeyAlgorithm.KEY_ALGORITHM_RSA_2048;
const EC = KeyAlgorithm.KEY_ALGORITHM_EC_P256;

describe("probe50 RACES: a CA disabled or revoked while it signs", {
  timeout: 2 * START_LIMIT_MS + 150_000,
}, () => {
  let pair: ReplicaPair;
  let rootId: string;
  let owner: { secret: string; clients: CertmintClients };
  let issuers: CertmintClients[];

  const intermediate = async (slug: string, parent: string, days = 60) =>
    (
      await call(
        pair.live.admin.authorities,
        "createIntermediateCertificateAuthority",
        CreateIntermediateCertificateAuthorityRequest.fromPartial({
          slug,
          parentCertificateAuthority: parent,
          subject: { commonName: slug },
          keyAlgorithm: EC,
          ttl: seconds(days * DAY),
        }),
      )
    ).certificateAuthority!;
  const pointProfileAt = (caId: string) =>
    call(
      pair.live.admin.profiles,
      "updateCertificateProfile",
      UpdateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "under",
          issuer: { $case: "certificateAuthority", value: caId },
        },
        updateMask: ["certificate_authority"],
      }),
    );
  const setStatus = (admin: CertmintClients, caId: string, s: CertificateAuthorityStatus) =>
    call(
      admin.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: { id: caId, status: s },
        updateMask: ["status"],
      }),
    );
  /** Two certificates issued before the race (to be renewed in it). */
  const issueToRenew = async (tag: string) => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await issue(owner.clients, issueRequest("under", [`${tag}-${i}.example.com`]));
      if (!r.ok) throw new Error(r.error.message);
      ids.push(r.res.certificate!.certificateId);
    }
    return ids;
  };
  /** The racers: 6 issuances (half with RSA keys, seconds to make) and 2 renewals. */
  const racers = (tag: string, renewals: string[]) => [
    ...Array.from(
      { length: 6 },
      (_, i) => () =>
        issue(
          issuers[i % 2]!,
          issueRequest("under", [`${tag}-n${i}.example.com`], { keyAlgorithm: i % 2 ? RSA : EC }),
        ),
    ),
    ...renewals.map(
      (id, i) => () =>
        outcome(
          call(
            issuers[i % 2]!.certificates,
            "renewCertificate",
            RenewCertificateRequest.fromPartial({ certificateId: id, keyAlgorithm: RSA }),
          ),
        ) as Promise<Outcome>,
    ),
  ];
  const refusals = (results: Array<{ ok: boolean; error?: { code: number; reason?: string } }>) =>
    results.flatMap((r) => (r.ok ? [] : [`${r.error!.code} ${r.error!.reason}`]));

  beforeAll(async () => {
    pair = await startPair();
    const { live } = pair;
    rootId = (
      await call(
        live.admin.authorities,
        "createRootCertificateAuthority",
        CreateRootCertificateAuthorityRequest.fromPartial({
          slug: "race-root",
          subject: { commonName: "race root" },
          keyAlgorithm: EC,
        }),
      )
    ).certificateAuthority!.id;
    await call(
      live.admin.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug: "under-policy",
          sanRules: { dns: { allowed: ["**.example.com"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
          keyAlgorithms: { allowed: [EC, RSA] },
          maxTtl: seconds(30 * DAY),
        },
      }),
    );
    await call(
      live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "under",
          certificatePolicy: "under-policy",
          issuer: { $case: "certificateAuthority", value: rootId },
          defaults: { ttl: seconds(3600), keyAlgorithm: EC },
        },
      }),
    );
    const t = await token(live, "under-issuer", Role.ROLE_ISSUER, ["under"]);
    owner = t;
    issuers = [t.clients, pair.onReplica(t.secret)];
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it("a disable racing issuances and renewals: nothing stored under the CA after it answered", async () => {
    const { live } = pair;
    const ca = await intermediate("dis-ca", rootId);
    await pointProfileAt(ca.id);
    const late: string[] = [];
    const refused: string[] = [];
    for (let round = 0; round < 4; round++) {
      await setStatus(
        live.admin,
        ca.id,
        CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE,
      );
      const renewals = await issueToRenew(`d${round}`);
      const { results, before } = await raceAgainst(
        () =>
          setStatus(
            round % 2 ? pair.adminB : live.admin,
            ca.id,
            CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
          ),
        racers(`d${round}`, renewals),
        () => certificateIds(live, "ca_id = $1", [ca.id]),
      );
      refused.push(...refusals(results));
      const after = await certificateIds(live, "ca_id = $1", [ca.id]);
      for (const id of after) if (!before.has(id)) late.push(`round ${round}: ${id}`);
    }
    expect(late, "certificates stored under the CA after its disable answered").toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toBe(`${status.FAILED_PRECONDITION} CA_DISABLED`);
  });

  it("a revocation (of the issuer, or of its parent) racing issuances and renewals: nothing after it, nothing dated after it, all within the issuer", async () => {
    const { live } = pair;
    const late: string[] = [];
    const refused: string[] = [];
    for (let round = 0; round < 4; round++) {
      const parent = await intermediate(`rv-parent-${round}`, rootId);
      const issuer = await intermediate(`rv-issuer-${round}`, parent.id, 50);
      await pointProfileAt(issuer.id);
      const renewals = await issueToRenew(`r${round}`);
      const revoked = round % 2 ? parent : issuer;
      const { results, before } = await raceAgainst(
        () =>
          call(
            (round % 4 < 2 ? live.admin : pair.adminB).authorities,
            "revokeCertificateAuthority",
            {
              certificateAuthority: revoked.id,
              reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
            },
          ),
        racers(`r${round}`, renewals),
        () => certificateIds(live, "ca_id = $1", [issuer.id]),
      );
      refused.push(...refusals(results));
      const [rv] = await live.db.query<{ revoked_at: Date }>(
        "select revoked_at from certificate_authority where id = $1",
        [revoked.id],
      );
      const [issuerRow] = await live.db.query<{
        status: string;
        not_before: Date;
        not_after: Date;
      }>("select status, not_before, not_after from certificate_authority where id = $1", [
        issuer.id,
      ]);
      expect(issuerRow!.status).toBe("DISABLED");
      const revokedAt = new Date(rv!.revoked_at).getTime();
      for (const c of await storedCertificates(live, "ca_id = $1", [issuer.id])) {
        if (!before.has(c.id)) late.push(`round ${round}: ${c.dnsNames[0]} stored after`);
        if (c.createdAt.getTime() > revokedAt)
          late.push(
            `round ${round}: ${c.dnsNames[0]} created ${c.createdAt.toISOString()} after ${new Date(revokedAt).toISOString()}`,
          );
        expect(c.notBefore.getTime()).toBeGreaterThanOrEqual(
          new Date(issuerRow!.not_before).getTime(),
        );
        expect(c.notAfter.getTime()).toBeLessThanOrEqual(new Date(issuerRow!.not_after).getTime());
      }
    }
    expect(late, "certificates of a revoked CA stored or dated after its revocation").toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toBe(`${status.FAILED_PRECONDITION} CA_REVOKED`);
  });
});
