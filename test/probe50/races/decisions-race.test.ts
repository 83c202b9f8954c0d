/**
 * Probe 50 (RACES): one request waiting for approval, decided at the same moment by two
 * approvers (approve and reject), its requester (withdrawing it) and an admin (rejecting it),
 * through two replicas. Exactly one decision wins and the request ends as it says; at most one
 * certificate; the key certmint generated goes to the requester alone.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateRequestStatus } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { Role, rootPolicyProfile, token } from "../../probe49/api/live";
import { type CertmintClients, call } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import { issue, issueRequest, outcome, type ReplicaPair, startPair } from "./race-kit";

const ROUNDS = 30;
const S = CertificateRequestStatus;

describe("probe50 RACES: approve, reject and withdraw of one request at once", {
  timeout: 2 * START_LIMIT_MS + 120_000,
}, () => {
  let pair: ReplicaPair;
  let requester: CertmintClients[];
  let approver1: CertmintClients[];
  let approver2: CertmintClients[];
  let admin: CertmintClients[];

  beforeAll(async () => {
    pair = await startPair();
    const { live } = pair;
    await rootPolicyProfile(live, "gate", { requireApproval: true });
    const r = await token(live, "gate-requester", Role.ROLE_ISSUER, ["gate"]);
    const a1 = await token(live, "gate-approver-1", Role.ROLE_APPROVER, ["gate"]);
    const a2 = await token(live, "gate-approver-2", Role.ROLE_APPROVER, ["gate"]);
    requester = [r.clients, pair.onReplica(r.secret)];
    approver1 = [a1.clients, pair.onReplica(a1.secret)];
    approver2 = [a2.clients, pair.onReplica(a2.secret)];
    admin = [live.admin, pair.adminB];
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it("exactly one decision wins; at most one certificate; the key to the requester only", async () => {
    const { live } = pair;
    const problems: string[] = [];
    const wins = { approved: 0, rejected: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      const a = round % 2;
      const b = 1 - a;
      const asked = await issue(
        requester[a]!,
        issueRequest(
          "gate",
          [`gate${round}.example.com`],
          round % 2 ? { keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048 } : {},
        ),
      );
      if (!asked.ok) throw new Error(asked.error.message);
      expect(asked.res.status).toBe(S.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL);
      const id = asked.res.certificateRequestId;
      const approve = (c: CertmintClients) => () =>
        outcome(
          call(c.certificates, "approveCertificateRequest", {
            certificateRequestId: id,
            comment: "",
          }),
        );
      const reject = (c: CertmintClients) => () =>
        outcome(
          call(c.certificates, "rejectCertificateRequest", {
            certificateRequestId: id,
            reason: "no",
          }),
        );
      const deciders = [
        { kind: "approved", go: approve(approver1[a]!) },
        { kind: "approved", go: approve(approver2[b]!) },
        ...(round % 3 >= 1 ? [{ kind: "rejected", go: reject(requester[b]!) }] : []),
        ...(round % 3 === 2 ? [{ kind: "rejected", go: reject(admin[a]!) }] : []),
        ...(round % 3 === 1 ? [{ kind: "rejected", go: reject(approver2[a]!) }] : []),
      ] as const;
      const results = await Promise.all(deciders.map((d) => d.go()));
      const won = results.flatMap((r, i) => (r.ok ? [deciders[i]!.kind] : []));
      for (const r of results)
        if (
          !r.ok &&
          (r.error.code !== status.FAILED_PRECONDITION ||
            r.error.reason !== "REQUEST_NOT_PENDING_APPROVAL")
        )
          problems.push(
            `round ${round}: loser answered ${r.error.code} ${r.error.reason}: ${r.error.message}`,
          );
      if (won.length !== 1) {
        problems.push(`round ${round}: ${won.length} decisions answered OK (${won.join(", ")})`);
        continue;
      }
      wins[won[0] as "approved" | "rejected"] += 1;
      const [row] = await live.db.query<{ status: string; certificate_id: string | null }>(
        "select status, certificate_id from certificate_request where id = $1",
        [id],
      );
      const certs = await live.count("certificate", "certificate_request_id = $1", [id]);
      const expected = won[0] === "approved" ? "ISSUED" : "REJECTED";
      if (row!.status !== expected)
        problems.push(`round ${round}: ${won[0]} but the request is ${row!.status}`);
      if (certs !== (won[0] === "approved" ? 1 : 0))
        problems.push(`round ${round}: ${certs} certificates after ${won[0]}`);
      if (won[0] !== "approved") continue;

      // The key: to the requester (on either replica), to nobody else.
      for (const c of requester) {
        const st = await call(c.certificates, "getRequestStatus", { certificateRequestId: id });
        const pem = st.certificate?.certificatePem ?? "";
        if (!st.privateKeyPem) {
          problems.push(`round ${round}: the requester got no key`);
          continue;
        }
        const spki = (k: Parameters<typeof createPublicKey>[0]) =>
          createPublicKey(k).export({ type: "spki", format: "der" }).toString("base64");
        if (
          spki(st.privateKeyPem) !==
          spki(new X509Certificate(pem).publicKey.export({ type: "spki", format: "pem" }))
        )
          problems.push(`round ${round}: the requester's key is not the certificate's`);
      }
      for (const c of [...approver1, ...approver2, ...admin]) {
        const st = await call(c.certificates, "getRequestStatus", { certificateRequestId: id });
        if (st.privateKeyPem) problems.push(`round ${round}: a non-requester got the key`);
      }
    }
    expect(problems).toEqual([]);
    expect(wins.approved + wins.rejected).toBe(ROUNDS);
  });
});
