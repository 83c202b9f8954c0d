/**
 * Probe 50 (RACES): RevokeAccessToken of an issuer token while that token's IssueCertificate
 * and RenewCertificate calls (and requests that wait for approval) are in flight on two
 * replicas. Nothing of the token may be stored after the revocation answered, nothing of it
 * may still wait for approval, and the audit trail must hold exactly one success record per
 * change that was stored, none dated after the revocation.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { RenewCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { Role, rootPolicyProfile, token } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import {
  certificateIds,
  issue,
  issueRequest,
  type Outcome,
  outcome,
  type ReplicaPair,
  raceAgainst,
  startPair,
} from "./race-kit";

const ROUNDS = 8;
const RSA = KeyAlgorithm.KEY_ALGORITHM_RSA_2048;

describe("probe50 RACES: a token revoked while it issues", {
  timeout: 2 * START_LIMIT_MS + 120_000,
}, () => {
  let pair: ReplicaPair;

  beforeAll(async () => {
    pair = await startPair();
    const { rootId } = await rootPolicyProfile(pair.live, "cut");
    await call(
      pair.live.admin.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: "cut-gated",
          certificatePolicy: "cut-policy",
          issuer: { $case: "certificateAuthority", value: rootId },
          requireApproval: true,
        },
      }),
    );
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it("nothing of the token stored after the revocation answered, nothing left waiting, audit rows match", async () => {
    const { live } = pair;
    const late: string[] = [];
    const problems: string[] = [];
    let refused = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const t = await token(live, `cut-${round}`, Role.ROLE_ISSUER, ["cut", "cut-gated"]);
      const on: CertmintClients[] = [t.clients, pair.onReplica(t.secret)];
      const toRenew: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await issue(t.clients, issueRequest("cut", [`pre${round}-${i}.example.com`]));
        if (!r.ok) throw new Error(r.error.message);
        toRenew.push(r.res.certificate!.certificateId);
      }
      const racers: Array<() => Promise<Outcome>> = [
        ...Array.from(
          { length: 6 },
          (_, i) => () =>
            issue(
              on[i % 2]!,
              issueRequest(
                "cut",
                [`c${round}-${i}.example.com`],
                i % 3 === 0 ? { keyAlgorithm: RSA } : {},
              ),
            ),
        ),
        ...Array.from(
          { length: 2 },
          (_, i) => () =>
            issue(on[i % 2]!, issueRequest("cut-gated", [`g${round}-${i}.example.com`])),
        ),
        ...toRenew.map(
          (id, i) => () =>
            outcome(
              call(
                on[i % 2]!.certificates,
                "renewCertificate",
                RenewCertificateRequest.fromPartial({ certificateId: id, keyAlgorithm: RSA }),
              ),
            ) as Promise<Outcome>,
        ),
      ];
      const { results, before } = await raceAgainst(
        () =>
          call((round % 2 ? pair.adminB : live.admin).accessTokens, "revokeAccessToken", {
            accessToken: t.id,
            revokeCreatedTokens: false,
          }),
        racers,
        () => certificateIds(live, "owner = $1", [t.id]),
      );
      for (const r of results) {
        if (r.ok) continue;
        refused += 1;
        if (r.error.code !== status.UNAUTHENTICATED || r.error.reason !== "TOKEN_REVOKED")
          problems.push(`refused otherwise: ${r.error.code} ${r.error.reason} ${r.error.message}`);
      }
      const after = await certificateIds(live, "owner = $1", [t.id]);
      for (const id of after) if (!before.has(id)) late.push(`round ${round}: ${id}`);
      const waiting = await live.count(
        "certificate_request",
        "caller = $1 and status in ('PENDING_APPROVAL', 'PENDING')",
        [t.id],
      );
      if (waiting)
        problems.push(`round ${round}: ${waiting} requests of the revoked token still wait`);

      const [tok] = await live.db.query<{ revoked_at: Date }>(
        "select revoked_at from access_token where id = $1",
        [t.id],
      );
      const revokedAt = new Date(tok!.revoked_at);
      const issuedRequests = await live.count(
        "certificate_request",
        "caller = $1 and status = 'ISSUED'",
        [t.id],
      );
      expect(issuedRequests).toBe(after.size);
      // Every stored change of the token has its success record, none dated after the cut.
      const okAudit = await live.db.query<{
        method: string;
        created_at: Date;
        resource_id: string;
      }>(
        "select method, created_at, resource_id from audit_record where actor_id = $1 and status_code = 0 and method not like '%Get%' and method not like '%List%'",
        [t.id],
      );
      const issued = okAudit.filter((a) => /IssueCertificate|RenewCertificate/.test(a.method));
      const waitingRecorded = await live.count(
        "certificate_request",
        "caller = $1 and status = 'REJECTED'",
        [t.id],
      );
      if (issued.length !== after.size + waitingRecorded)
        problems.push(
          `round ${round}: ${issued.length} success records of issuance for ${after.size} certificates and ${waitingRecorded} waiting requests`,
        );
      for (const a of okAudit)
        if (new Date(a.created_at) > revokedAt)
          problems.push(
            `round ${round}: ${a.method} success record at ${a.created_at} after the revocation`,
          );
    }
    expect(late, "certificates of the token stored after its revocation answered").toEqual([]);
    expect(problems).toEqual([]);
    expect(refused).toBeGreaterThan(0);
  });
});
