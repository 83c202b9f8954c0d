/**
 * A lone IssueCertificate with a CSR runs on the profile, policy and CA rows the last read left
 * (held rows) instead of reading them, and the store statement stores it only while each row
 * is still the one it was decided on (src/store/repositories/issuance.ts). Nothing decided on
 * held rows may differ from what rows read now decide: every change below is made with plain
 * SQL, without the version the API bumps (xmin alone tells), right before a lone call, and the
 * call answers as a fresh read would, with the rows in PostgreSQL to prove it. The counters say
 * the held rows were used, so no case passes by reading afresh from the start.
 */
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compilePolicy } from "../../src/issuance/policy-engine";
import { createProfileRows, createRoot, tlsServerSpec } from "../support/fixtures";
import {
  Code,
  countRows,
  csrRequest,
  FAILED,
  issue,
  makeCsr,
  requestStatus,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  verifyLeaf,
} from "./helpers";

describe("lone issuances on held rows", () => {
  let h: TestCertmint;
  let rootPem = "";
  let caId = "";
  let policyId = "";
  const tmp = new TempDir();
  let n = 0;

  const held = () => h.running.heldRowCounts()!;
  const csrFor = (name: string) => makeCsr(tmp, `/CN=${name}`, [`DNS:${name}`]).csrPem;
  const issueName = (name: string, requestId = `held-${++n}`) =>
    issue(h, csrRequest("web", csrFor(name), { requestId }));
  const setSpec = async (denied: string[]) => {
    const spec = tlsServerSpec();
    spec.sans.dns = { ...spec.sans.dns!, denied };
    await h.db.query("update certificate_policy set spec = $1 where id = $2", [
      JSON.stringify(compilePolicy(spec).spec),
      policyId,
    ]);
  };

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "held-root");
    caId = root.id;
    rootPem = root.certificatePem;
    policyId = (await createProfileRows(h, { caId, slug: "web" })).policyId;
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });
  beforeEach(async () => {
    // Every case starts with the rows read and held: this call reads or uses them.
    await setSpec([]);
    await h.db.query("update certificate_authority set status = 'ACTIVE' where id = $1", [caId]);
    await h.db.query("update certificate_profile set slug = 'web' where slug = 'web-renamed'");
    await issueName(`warm-${n}.example.com`);
    await issueName(`warm-again-${n}.example.com`);
  });

  it("issues on held rows: a certificate that verifies, stored with its request and audit record", async () => {
    const before = held();
    const res = await issueName("held.example.com", "held-one");
    expect(held().used).toBe(before.used + 1);
    expect(held().changed).toBe(before.changed);
    const cert = new X509Certificate(res.certificate!.certificatePem);
    expect(cert.subjectAltName).toBe("DNS:held.example.com");
    verifyLeaf(tmp, rootPem, res.certificate!.certificatePem);
    const [row] = await h.db.query<{ status: string; certificate_id: string; audits: string }>(
      `select r.status, r.certificate_id,
              (select count(*) from audit_record a where a.resource_id = r.id::text) as audits
         from certificate_request r where r.request_id = 'held-one'`,
    );
    expect(row?.status).toBe("ISSUED");
    expect(row?.certificate_id).toBe(res.certificate!.certificateId);
    expect(Number(row?.audits)).toBe(1);
  });

  it("a policy tightened by plain SQL since the last read refuses the next lone call, recorded once", async () => {
    await setSpec(["*.tightened.example.com"]);
    const before = { ...held(), rows: await rowCounts(h) };
    const err = await rpcError(issueName("a.tightened.example.com", "tightened"));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    // Decided on the held rows, caught by the store (nothing stored), decided again.
    expect(held().used).toBe(before.used + 1);
    expect(held().changed).toBe(before.changed + 1);
    expect(await rowCounts(h)).toEqual({
      requests: before.rows.requests + 1,
      certificates: before.rows.certificates,
    });
    expect(await countRows(h, "certificate_request", "request_id = 'tightened'")).toBe(1);
    const [failed] = await h.db.query<{ id: string }>(
      "select id from certificate_request where request_id = 'tightened'",
    );
    expect((await requestStatus(h, failed!.id)).certificateRequest?.status).toBe(FAILED);
  });

  it("a policy loosened by plain SQL since the last read: a request the held rows refuse is issued", async () => {
    await setSpec(["*.loosened.example.com"]);
    // Read afresh (the rows changed), refused and recorded FAILED.
    const refused = await rpcError(issueName("b.loosened.example.com", "loosened-1"));
    expect(refused.reason).toBe("POLICY_VIOLATION");
    await setSpec([]);
    const before = held();
    // The held rows (the denying spec) would refuse it: refusals are decided on rows read now.
    const res = await issueName("b.loosened.example.com", "loosened-2");
    expect(held().used).toBe(before.used + 1);
    expect(new X509Certificate(res.certificate!.certificatePem).subjectAltName).toBe(
      "DNS:b.loosened.example.com",
    );
    expect(
      await countRows(h, "certificate_request", "request_id = 'loosened-2' and status = 'ISSUED'"),
    ).toBe(1);
  });

  it("a CA disabled by plain SQL since the last read refuses the next lone call, nothing stored", async () => {
    await h.db.query("update certificate_authority set status = 'DISABLED' where id = $1", [caId]);
    const before = { ...held(), certificates: await countRows(h, "certificate") };
    const err = await rpcError(issueName("c.example.com", "disabled"));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_DISABLED");
    expect(held().used).toBe(before.used + 1);
    expect(held().changed).toBe(before.changed + 1);
    expect(await countRows(h, "certificate")).toBe(before.certificates);
  });

  it("a profile renamed by plain SQL since the last read is not found under its old slug", async () => {
    await h.db.query("update certificate_profile set slug = 'web-renamed' where slug = 'web'");
    let before = await rowCounts(h);
    const err = await rpcError(issueName("d.example.com", "renamed"));
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(await rowCounts(h)).toEqual(before);
    // Under its new slug (read now, and held after), then the old slug again: the profile held
    // is unchanged since, but it no longer has that slug.
    const renamed = (name: string) =>
      issue(h, csrRequest("web-renamed", csrFor(name), { requestId: `held-${++n}` }));
    await renamed("e.example.com");
    const used = held().used;
    await renamed("f.example.com");
    expect(held().used).toBe(used + 1);
    before = await rowCounts(h);
    expect((await rpcError(issueName("g.example.com", "renamed-again"))).code).toBe(Code.NOT_FOUND);
    expect(await rowCounts(h)).toEqual(before);
  });

  it("a profile's defaults changed by plain SQL since the last read: the next lone calls take the new ones", async () => {
    // Planning reads the held profile's own (frozen) defaults, not a copy made per call
    // (issuanceSettings): a changed row is a new record, so its defaults are the new ones.
    const lifetime = (pem: string) => {
      const cert = new X509Certificate(pem);
      return (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 1000;
    };
    const setTtl = (ttlSeconds: number | undefined) =>
      h.db.query("update certificate_profile set defaults = $1 where slug = 'web'", [
        JSON.stringify(ttlSeconds === undefined ? {} : { ttlSeconds }),
      ]);
    try {
      for (const ttl of [3600, 7200]) {
        await setTtl(ttl);
        const before = held();
        const read = await issueName(`ttl-${ttl}.example.com`);
        expect(held().changed).toBe(before.changed + 1);
        // Then on held rows: the record read above, with the same defaults.
        const onHeld = await issueName(`ttl-${ttl}-held.example.com`);
        expect(held().used).toBe(before.used + 2);
        for (const res of [read, onHeld]) {
          const seconds = lifetime(res.certificate!.certificatePem);
          expect(seconds).toBeGreaterThanOrEqual(ttl);
          expect(seconds).toBeLessThanOrEqual(ttl + 120);
        }
      }
    } finally {
      await setTtl(undefined);
    }
  });

  it("a repeated request_id on held rows answers the first certificate; another CSR under it is refused", async () => {
    const csr = csrFor("e.example.com");
    const first = await issue(h, csrRequest("web", csr, { requestId: "again" }));
    const before = held();
    const second = await issue(h, csrRequest("web", csr, { requestId: "again" }));
    expect(held().used).toBe(before.used + 1);
    expect(second.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(second.certificate!.certificatePem).toBe(first.certificate!.certificatePem);
    const other = await rpcError(
      issue(h, csrRequest("web", csrFor("e.example.com"), { requestId: "again" })),
    );
    expect(other.code).toBe(Code.ALREADY_EXISTS);
    expect(other.reason).toBe("REQUEST_ID_REUSED");
    expect(await countRows(h, "certificate_request", "request_id = 'again'")).toBe(1);
    expect(
      await countRows(
        h,
        "certificate c join certificate_request r on r.id = c.certificate_request_id",
        "r.request_id = 'again'",
      ),
    ).toBe(1);
  });
});
