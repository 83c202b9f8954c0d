/**
 * A certificate is never named as its issuer (RFC 5280 6.1: subject = issuer makes it
 * self-issued, which validators may take for the CA in chain building or as an indirect CRL's
 * issuer, 5.2.5): a subject that matches the issuing CA's name as RFC 5280 7.1 compares names
 * (case and white space aside) is a POLICY_VIOLATION SUBJECT_IS_ISSUER, from attributes or a
 * CSR, recorded as one FAILED request and no certificate. Found by an outside probe, 2026-12-05.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attrRequest,
  Code,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  makeCsr,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

describe("a subject that is the issuer's name", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "named"); // CN "named CA"
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const violationsOf = (err: Awaited<ReturnType<typeof rpcError>>) =>
    err.violations.map((v) => `${v.field} ${v.reason}`);

  it("is refused from attributes, in any case and spacing, and stores no certificate", async () => {
    for (const cn of ["named CA", "NAMED  ca", " Named Ca"]) {
      const before = await rowCounts(h);
      const err = await rpcError(issue(h, attrRequest("web", { cn, dns: ["svc.example.com"] })));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("POLICY_VIOLATION");
      expect(violationsOf(err)).toContain("attributes.subject SUBJECT_IS_ISSUER");
      expect(err.message).toContain("issuing CA's own name");
      expect(await rowCounts(h)).toEqual({
        requests: before.requests + 1,
        certificates: before.certificates,
      });
    }
  });

  it("is refused from a CSR", async () => {
    const { csrPem } = makeCsr(tmp, "/CN=named CA", ["DNS:svc.example.com"]);
    const err = await rpcError(issue(h, csrRequest("web", csrPem)));
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(violationsOf(err).some((v) => v.endsWith(" SUBJECT_IS_ISSUER"))).toBe(true);
  });

  it("another name is issued", async () => {
    const res = await issue(h, attrRequest("web", { cn: "named CA 2", dns: ["svc.example.com"] }));
    expect(res.certificate?.certificatePem).toContain("BEGIN CERTIFICATE");
  });
});
