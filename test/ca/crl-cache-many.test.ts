/**
 * The CRL cache keeps every CA's CRL within a budget of bytes (src/issuance/ca/crl-cache.ts,
 * MAX_CACHED_CRL_BYTES). Until 2026-12-03 it kept 32 CRLs: with more CAs, fetching their CRLs
 * in turn (anyone may, on the publication port) signed one afresh on every fetch, each
 * reading every revoked row of its CA and taking a new cRLNumber. A CRL served from the cache
 * keeps its number, so the numbers tell whether a second round over the CAs signed anything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CrlEncoding } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { call, createRoot, startTestCertmint, type TestCertmint } from "../certificates/helpers";

const CAS = 40;

describe("CRLs of more CAs than the cache once held", () => {
  let h: TestCertmint;
  const ids: string[] = [];

  beforeAll(async () => {
    h = await startTestCertmint();
    for (let i = 0; i < CAS; i += 10) {
      const made = await Promise.all(
        Array.from({ length: 10 }, (_, j) => createRoot(h, `many-${i + j}`)),
      );
      ids.push(...made.map((ca) => ca.id));
    }
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
  });

  const crlNumberOf = async (id: string) =>
    (
      await call(h.authorities, "getCertificateRevocationList", {
        certificateAuthority: id,
        encoding: CrlEncoding.CRL_ENCODING_DER,
        knownCrlNumber: "",
      })
    ).crlNumber;

  it("fetching 40 CAs' CRLs in turn, twice, signs each once", async () => {
    const first: string[] = [];
    for (const id of ids) first.push(await crlNumberOf(id));
    const second: string[] = [];
    for (const id of ids) second.push(await crlNumberOf(id));
    expect(second).toEqual(first);
    // Each CA's last cRLNumber in the database is the one served: nothing signed since.
    const rows = await h.db.query<{ id: string; crl_number: string }>(
      "select id, crl_number from certificate_authority where slug like 'many-%'",
    );
    const last = new Map(rows.map((r) => [r.id, r.crl_number]));
    expect(ids.map((id) => last.get(id))).toEqual(first);
  }, 180_000);
});
