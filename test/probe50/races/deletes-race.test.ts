/**
 * Probe 50 (RACES): deleting a policy, a profile or a CA at the moment something is created
 * (or moved) onto it, through the other replica. One side wins: the deletion, and the
 * creation is NOT_FOUND; or the creation, and the deletion is FAILED_PRECONDITION. Never both,
 * and no row is left naming what was deleted.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest } from "../../../gen/ts/certmint/v1/access_token_service";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CreateCertificateProfileRequest,
  UpdateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { Role } from "../../probe49/api/live";
import { type CertmintClients, call, type DecodedError } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import { outcome, type ReplicaPair, startPair } from "./race-kit";

const ROUNDS = 10;
type Result = { ok: true } | { ok: false; error: DecodedError };

describe("probe50 RACES: deleting what is being used", {
  timeout: 2 * START_LIMIT_MS + 120_000,
}, () => {
  let pair: ReplicaPair;
  let rootId: string;
  let admins: CertmintClients[];

  const policy = (slug: string) =>
    call(
      pair.live.admin.policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug,
          sanRules: { dns: { allowed: ["**.example.com"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
      }),
    );
  const profile = (c: CertmintClients, slug: string, policySlug: string, ca: string) =>
    call(
      c.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug,
          certificatePolicy: policySlug,
          issuer: { $case: "certificateAuthority", value: ca },
        },
      }),
    );
  const root = async (c: CertmintClients, slug: string) =>
    (
      await call(
        c.authorities,
        "createRootCertificateAuthority",
        CreateRootCertificateAuthorityRequest.fromPartial({
          slug,
          subject: { commonName: slug },
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        }),
      )
    ).certificateAuthority!;
  /** One winner: the deletion (the others NOT_FOUND) or the others (the deletion refused). */
  const oneSide = (round: number, deletion: Result, users: Result[], problems: string[]) => {
    const used = users.filter((u) => u.ok).length;
    if (deletion.ok && used > 0)
      problems.push(`round ${round}: deleted, and ${used} users created`);
    if (!deletion.ok && deletion.error.code !== status.FAILED_PRECONDITION)
      problems.push(
        `round ${round}: deletion ${deletion.error.code} ${deletion.error.reason}: ${deletion.error.message}`,
      );
    if (!deletion.ok && used === 0) problems.push(`round ${round}: neither side won`);
    for (const u of users)
      if (!u.ok && u.error.code !== status.NOT_FOUND)
        problems.push(`round ${round}: user ${u.error.code} ${u.error.reason}: ${u.error.message}`);
  };
  const dangling = async () =>
    pair.live.db.query(
      `select 'profile→policy' as what, p.slug from certificate_profile p
         where not exists (select 1 from certificate_policy y where y.id = p.policy_id)
       union all select 'profile→ca', p.slug from certificate_profile p
         where p.ca_id is not null and not exists (select 1 from certificate_authority a where a.id = p.ca_id)
       union all select 'ca→parent', a.slug from certificate_authority a
         where a.parent_id is not null and not exists (select 1 from certificate_authority b where b.id = a.parent_id)
       union all select 'token→profile', t.slug from access_token t, jsonb_array_elements_text(t.profile_ids) pid
         where not exists (select 1 from certificate_profile p where p.id::text = pid)`,
    );

  beforeAll(async () => {
    pair = await startPair();
    admins = [pair.live.admin, pair.adminB];
    rootId = (await root(pair.live.admin, "del-root")).id;
    await policy("del-base");
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it("a policy deleted while profiles are created on it and moved onto it", async () => {
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = admins[round % 2]!;
      const b = admins[1 - (round % 2)]!;
      await policy(`del-p${round}`);
      await profile(a, `mover-${round}`, "del-base", rootId);
      const [deletion, ...users] = (await Promise.all([
        outcome(
          call(a.policies, "deleteCertificatePolicy", {
            certificatePolicy: `del-p${round}`,
            etag: "",
          }),
        ),
        outcome(profile(b, `on-p${round}`, `del-p${round}`, rootId)),
        outcome(
          call(
            b.profiles,
            "updateCertificateProfile",
            UpdateCertificateProfileRequest.fromPartial({
              certificateProfile: { slug: `mover-${round}`, certificatePolicy: `del-p${round}` },
              updateMask: ["certificate_policy"],
            }),
          ),
        ),
      ])) as Result[];
      oneSide(round, deletion!, users, problems);
    }
    expect(problems).toEqual([]);
    expect(await dangling()).toEqual([]);
  });

  it("a profile deleted while an access token naming it is created", async () => {
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = admins[round % 2]!;
      const b = admins[1 - (round % 2)]!;
      await profile(a, `del-prof-${round}`, "del-base", rootId);
      const [deletion, ...users] = (await Promise.all([
        outcome(
          call(a.profiles, "deleteCertificateProfile", {
            certificateProfile: `del-prof-${round}`,
            etag: "",
            force: false,
          }),
        ),
        ...[0, 1].map((i) =>
          outcome(
            call(
              (i ? a : b).accessTokens,
              "createAccessToken",
              CreateAccessTokenRequest.fromPartial({
                accessToken: {
                  slug: `tok-${round}-${i}`,
                  role: Role.ROLE_ISSUER,
                  certificateProfiles: [`del-prof-${round}`],
                },
              }),
            ),
          ),
        ),
      ])) as Result[];
      // A profile without certificates goes even while tokens name it (they lose it): only
      // the tokens' side can lose here.
      for (const u of users)
        if (!u.ok && u.error.code !== status.NOT_FOUND)
          problems.push(
            `round ${round}: token ${u.error.code} ${u.error.reason}: ${u.error.message}`,
          );
      if (!deletion!.ok)
        problems.push(
          `round ${round}: deletion ${deletion!.error.code} ${deletion!.error.reason}: ${deletion!.error.message}`,
        );
      // README: "A deleted profile leaves the profile list of every token that named it".
      for (const [i, u] of users.entries()) {
        if (!u.ok) continue;
        const [row] = await pair.live.db.query<{ profile_ids: string[] }>(
          "select profile_ids from access_token where slug = $1",
          [`tok-${round}-${i}`],
        );
        const left = await pair.live.count("certificate_profile", "id = any($1::uuid[])", [
          row!.profile_ids,
        ]);
        if (deletion!.ok && row!.profile_ids.length !== left)
          problems.push(
            `round ${round}: token tok-${round}-${i} answered OK and still lists the profile whose deletion answered OK (${row!.profile_ids.join(", ")})`,
          );
      }
    }
    expect(problems).toEqual([]);
    expect(await dangling()).toEqual([]);
  });

  it("a CA deleted while a profile and an intermediate are created on it", async () => {
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const a = admins[round % 2]!;
      const b = admins[1 - (round % 2)]!;
      const ca = await root(a, `del-ca-${round}`);
      const [deletion, ...users] = (await Promise.all([
        outcome(
          call(a.authorities, "deleteCertificateAuthority", {
            certificateAuthority: ca.id,
            etag: "",
          }),
        ),
        outcome(profile(b, `on-ca-${round}`, "del-base", ca.id)),
        outcome(
          call(
            b.authorities,
            "createIntermediateCertificateAuthority",
            CreateIntermediateCertificateAuthorityRequest.fromPartial({
              slug: `under-ca-${round}`,
              parentCertificateAuthority: ca.id,
              subject: { commonName: `under ca ${round}` },
              keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
            }),
          ),
        ),
      ])) as Result[];
      oneSide(round, deletion!, users, problems);
    }
    expect(problems).toEqual([]);
    expect(await dangling()).toEqual([]);
  });
});
