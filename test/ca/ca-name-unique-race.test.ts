/**
 * One name per CA under one issuer (RFC 5280 4.1.2.6) holds for CA certificates issued at the
 * same moment: the name is decided again under the issuer's names lock just before the
 * certificate is stored (the lock CreateIntermediate's store takes), so of several calls
 * racing for one name exactly one gets a certificate and the others ALREADY_EXISTS
 * CA_SUBJECT_TAKEN with nothing stored (an approval: the request FAILED). Until stop 45 of
 * 2026-12-06 the check read outside any transaction and concurrent calls all passed it: the
 * issuer certified several CAs of one name with different keys.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  createToken,
  csrRequest,
  FAILED,
  ISSUED,
  PENDING_APPROVAL,
  Role,
  rowCounts,
  rpcError,
} from "../certificates/helpers";
import { buildCsr } from "../support/der-csr";
import { createProfileRows, createRoot } from "../support/fixtures";
import {
  type CertmintClients,
  call,
  startTestCertmint,
  type TestCertmint,
} from "../support/harness";
import { createNamedIntermediate, subCaSpec } from "./helpers";

/** How many calls race for one name: enough that, unguarded, several pass the planning check. */
const RACERS = 8;

describe("one name per CA under one issuer, for calls racing for it", () => {
  let h: TestCertmint;
  let intId = "";
  let approver: CertmintClients;
  let requester: CertmintClients;

  beforeAll(async () => {
    h = await startTestCertmint();
    await createRoot(h, "root");
    intId = (await createNamedIntermediate(h, "int", "root", "Int CA")).id;
    await createProfileRows(h, { slug: "subca", caId: intId, spec: subCaSpec() });
    const { profileId } = await createProfileRows(h, {
      slug: "subca-approved",
      caId: intId,
      spec: subCaSpec(),
      requireApproval: true,
    });
    approver = (await createToken(h, "approver", Role.ROLE_APPROVER, [profileId])).clients;
    requester = (await createToken(h, "requester", Role.ROLE_ISSUER, [profileId])).clients;
  });
  afterAll(async () => {
    await h?.stop();
  });

  // Each with a key of its own: another entity under the same name.
  const subCa = (cn: string) =>
    call(
      h.certificates,
      "issueCertificate",
      csrRequest("subca", buildCsr({ subject: [["CN", cn]], ca: {} }).csrPem),
    );
  /** The CAs of this name under the intermediate: its CA rows and its CA certificates. */
  const holders = async (cn: string) => {
    const [cas] = await h.db.query<{ n: string }>(
      `select count(*) as n from certificate_authority where parent_id = $1
         and subject->'attributes' @> jsonb_build_array(jsonb_build_object('type', 'COMMON_NAME', 'value', $2::text))`,
      [intId, cn],
    );
    const [certs] = await h.db.query<{ n: string }>(
      "select count(*) as n from certificate where ca_id = $1 and is_ca and common_name = $2",
      [intId, cn],
    );
    return { cas: Number(cas!.n), certificates: Number(certs!.n) };
  };
  /** The racers' outcomes: the values of those that succeeded, and the others' errors. */
  async function race<T>(calls: Array<Promise<T>>) {
    const settled = await Promise.allSettled(calls);
    const won = settled.filter((s) => s.status === "fulfilled").map((s) => s.value);
    const lost = await Promise.all(
      settled
        .filter((s) => s.status === "rejected")
        .map((s) => rpcError(Promise.reject((s as PromiseRejectedResult).reason))),
    );
    return { won, lost };
  }

  it("of CA certificates of one name issued at once, one is stored; the others are refused and store nothing", async () => {
    const before = await rowCounts(h);
    const { won, lost } = await race(Array.from({ length: RACERS }, () => subCa("Racing Sub")));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(RACERS - 1);
    for (const err of lost) {
      expect([err.code, err.reason]).toEqual([Code.ALREADY_EXISTS, "CA_SUBJECT_TAKEN"]);
      expect(err.message).toContain(`CA certificate ${won[0]!.certificate!.certificateId}`);
    }
    expect(await holders("Racing Sub")).toEqual({ cas: 0, certificates: 1 });
    // The refused calls wrote nothing: one request and one certificate more, the winner's.
    expect(await rowCounts(h)).toEqual({
      requests: before.requests + 1,
      certificates: before.certificates + 1,
    });
  });

  it("a CreateIntermediate racing profile issuances of its name: one CA of the name in the end", async () => {
    const { won, lost } = await race<unknown>([
      ...Array.from({ length: RACERS / 2 }, () => subCa("Contested Sub")),
      createNamedIntermediate(h, "contested", "int", "Contested Sub"),
      ...Array.from({ length: RACERS / 2 }, () => subCa("Contested Sub")),
    ]);
    expect(won).toHaveLength(1);
    for (const err of lost) {
      expect([err.code, err.reason]).toEqual([Code.ALREADY_EXISTS, "CA_SUBJECT_TAKEN"]);
    }
    const held = await holders("Contested Sub");
    expect(held.cas + held.certificates).toBe(1);
  });

  it("approvals of requests of one name, at once: one ISSUED, the others FAILED with CA_SUBJECT_TAKEN", async () => {
    const requests = [];
    for (let i = 0; i < RACERS / 2; i++) {
      const r = await call(
        requester.certificates,
        "issueCertificate",
        csrRequest(
          "subca-approved",
          buildCsr({ subject: [["CN", "Approved Sub"]], ca: {} }).csrPem,
        ),
      );
      expect(r.status).toBe(PENDING_APPROVAL);
      requests.push(r.certificateRequestId);
    }
    const approved = await Promise.all(
      requests.map((id) =>
        call(approver.certificates, "approveCertificateRequest", {
          certificateRequestId: id,
          comment: "ok",
        }).then((r) => r.certificateRequest!),
      ),
    );
    const statuses = approved.map((r) => r.status).sort();
    expect(statuses).toEqual([ISSUED, ...Array(requests.length - 1).fill(FAILED)].sort());
    for (const failed of approved.filter((r) => r.status === FAILED)) {
      expect(failed.error?.message).toMatch(/has this subject name already/);
    }
    expect(await holders("Approved Sub")).toEqual({ cas: 0, certificates: 1 });
  });
});
