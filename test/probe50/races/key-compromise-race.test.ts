/**
 * Probe 50 (RACES): RevokeCertificate with keyCompromise racing RenewCertificate of the same
 * certificate (its key reused, or a new one) and IssueCertificate of CSRs of the same key, on
 * two replicas. The blocked key must never end up in a certificate left valid, and no
 * successor of the revoked certificate may be stored after the revocation answered.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IssueCertificateRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { RevocationReason } from "../../../gen/ts/certmint/v1/common";
import { Role, rootPolicyProfile, token } from "../../probe49/api/live";
import { opensslCsr } from "../../support/fixtures";
import { type CertmintClients, call } from "../../support/harness";
import { START_LIMIT_MS } from "../../support/server-process";
import { certificateIds, outcome, type ReplicaPair, raceAgainst, startPair } from "./race-kit";

const ROUNDS = 15;

describe("probe50 RACES: a key revoked for compromise while it is renewed and certified again", {
  timeout: 2 * START_LIMIT_MS + 120_000,
}, () => {
  let pair: ReplicaPair;
  let issuers: CertmintClients[];

  beforeAll(async () => {
    pair = await startPair();
    await rootPolicyProfile(pair.live, "kc");
    const t = await token(pair.live, "kc-issuer", Role.ROLE_ISSUER, ["kc"]);
    issuers = [t.clients, pair.onReplica(t.secret)];
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it("the blocked key is in no valid certificate; no successor stored after the revocation answered", async () => {
    const { live } = pair;
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const names = Array.from({ length: 4 }, (_, i) => `kc${round}-${i}.example.com`);
      // One key, four CSRs of it (one per name).
      const first = opensslCsr(`/CN=${names[0]}`, [`DNS:${names[0]}`]);
      const csrs = names.map((n, i) => (i === 0 ? first.csrPem : csrWithKey(first.keyPem, n)));
      const fromCsr = (i: number) =>
        IssueCertificateRequest.fromPartial({
          certificateProfile: "kc",
          source: { $case: "csrPem", value: csrs[i]! },
        });
      const c1 = (await call(issuers[0]!.certificates, "issueCertificate", fromCsr(0)))
        .certificate!;
      const [row] = await live.db.query<{ spki_sha256: string }>(
        "select spki_sha256 from certificate where id = $1",
        [c1.certificateId],
      );
      const spki = row!.spki_sha256;
      const renew = (c: CertmintClients, keySource: RenewalKeySource) => () =>
        outcome(
          call(
            c.certificates,
            "renewCertificate",
            RenewCertificateRequest.fromPartial({ certificateId: c1.certificateId, keySource }),
          ),
        );
      const { results, before } = await raceAgainst(
        () =>
          call((round % 2 ? pair.adminB : live.admin).certificates, "revokeCertificate", {
            certificate: c1.certificateId,
            reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
          }),
        [
          renew(issuers[0]!, RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE),
          renew(issuers[1]!, RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE),
          renew(issuers[round % 2]!, RenewalKeySource.RENEWAL_KEY_SOURCE_NEW),
          ...[1, 2, 3].map(
            (i) => () =>
              outcome(call(issuers[i % 2]!.certificates, "issueCertificate", fromCsr(i))),
          ),
        ],
        () => certificateIds(live, "renewed_from_id = $1", [c1.certificateId]),
      );
      for (const r of results)
        if (
          !r.ok &&
          !(
            (r.error.code === status.INVALID_ARGUMENT && r.error.reason === "KEY_BLOCKED") ||
            (r.error.code === status.FAILED_PRECONDITION &&
              ["CERTIFICATE_REVOKED", "CERTIFICATE_ALREADY_RENEWED"].includes(r.error.reason ?? ""))
          )
        )
          problems.push(
            `round ${round}: refused ${r.error.code} ${r.error.reason}: ${r.error.message}`,
          );
      const valid = await live.db.query<{ id: string }>(
        "select id from certificate where spki_sha256 = $1 and (revoked_at is null or revocation_reason <> 'KEY_COMPROMISE')",
        [spki],
      );
      if (valid.length)
        problems.push(
          `round ${round}: ${valid.length} certificates of the blocked key not revoked for it`,
        );
      if ((await live.count("blocked_key", "spki_sha256 = $1", [spki])) !== 1)
        problems.push(`round ${round}: the key is not blocked`);
      const after = await certificateIds(live, "renewed_from_id = $1", [c1.certificateId]);
      for (const id of after)
        if (!before.has(id))
          problems.push(`round ${round}: successor ${id} stored after the revocation answered`);
      if (after.size > 1) problems.push(`round ${round}: ${after.size} successors`);
    }
    expect(problems).toEqual([]);
  });
});

/** A CSR for `name` signed with the key `keyPem` (openssl, an independent implementation). */
function csrWithKey(keyPem: string, name: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "certmint-probe50-")), "key.pem");
  writeFileSync(file, keyPem, { mode: 0o600 });
  return execFileSync(
    "openssl",
    ["req", "-new", "-key", file, "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name}`],
    { encoding: "utf8" },
  );
}
