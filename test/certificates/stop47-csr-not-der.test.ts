/**
 * A CSR whose bytes are not a DER SEQUENCE is CSR_MALFORMED in words a user can act on. Until
 * stop 47 of 2026-12-06 the PEM body "AAAA" (three zero bytes, read as an empty element of
 * tag 0) answered "the CSR is malformed: 1 bytes of trailing data" (an outside probe, R, LOW-5).
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertmintError } from "../../src/errors";
import { parseCsr, parseCsrDer } from "../../src/signer";
import {
  Code,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

const pemOf = (body: string) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
const pemOfBytes = (der: Buffer) => pemOf(der.toString("base64"));

function refusal(parse: () => unknown): CertmintError {
  try {
    parse();
  } catch (err) {
    return err as CertmintError;
  }
  throw new Error("parsed");
}

const NOT_A_SEQUENCE = (tag: string) =>
  `the CSR is malformed: the bytes are not a DER CertificationRequest (RFC 2986 section 4.2): one starts with the SEQUENCE tag 0x30, these with ${tag}`;

describe("a CSR that is not a DER SEQUENCE (unit)", () => {
  it('says so for the PEM body "AAAA" (three zero bytes)', () => {
    const err = refusal(() => parseCsr(pemOf("AAAA")));
    expect(err.reason).toBe("CSR_MALFORMED");
    expect(err.message).toBe(NOT_A_SEQUENCE("0x00"));
    expect(err.violations).toEqual([
      { field: "csr", reason: "CSR_MALFORMED", description: NOT_A_SEQUENCE("0x00") },
    ]);
    // The same for DER handed in directly (ACME, EST).
    expect(refusal(() => parseCsrDer(Buffer.alloc(3))).message).toBe(NOT_A_SEQUENCE("0x00"));
  });

  it("names text where DER should be: base64 encoded twice", () => {
    const twice = pemOfBytes(Buffer.from("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"));
    expect(refusal(() => parseCsr(twice)).message).toBe(
      `${NOT_A_SEQUENCE("0x4d")} (the PEM body decodes to text, not DER: base64 encoded twice?)`,
    );
  });

  it("names bytes after a SEQUENCE as more than one CSR, in the right number", () => {
    expect(refusal(() => parseCsr(pemOfBytes(Buffer.from([0x30, 0, 0])))).message).toBe(
      "the CSR is malformed: 1 byte follows the CertificationRequest SEQUENCE; send exactly one CSR",
    );
    expect(refusal(() => parseCsr(pemOfBytes(Buffer.from([0x30, 0, 0, 0])))).message).toBe(
      "the CSR is malformed: 2 bytes follow the CertificationRequest SEQUENCE; send exactly one CSR",
    );
    expect(refusal(() => parseCsrDer(Buffer.alloc(0))).message).toBe(
      "the CSR is malformed: it is empty (no DER bytes)",
    );
  });

  it("keeps a real CSR's trailing bytes and a truncated one precise", () => {
    const tmp = new TempDir();
    try {
      const key = `${tmp.path}/k.pem`;
      execFileSync("openssl", [
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        key,
      ]);
      const csr = execFileSync(
        "openssl",
        ["req", "-new", "-key", key, "-subj", "/CN=a.example.com"],
        {
          encoding: "utf8",
        },
      );
      const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ""), "base64");
      expect(parseCsr(csr).subject.attributes).toEqual([
        { type: "COMMON_NAME", value: "a.example.com" },
      ]);
      expect(
        refusal(() => parseCsr(pemOfBytes(Buffer.concat([der, Buffer.alloc(2)])))).message,
      ).toBe(
        "the CSR is malformed: 2 bytes follow the CertificationRequest SEQUENCE; send exactly one CSR",
      );
      expect(refusal(() => parseCsr(pemOfBytes(der.subarray(0, der.length - 10)))).message).toBe(
        "the CSR is malformed: not valid DER (truncated or corrupted data?)",
      );
    } finally {
      tmp.remove();
    }
  });
});

describe("a CSR that is not a DER SEQUENCE, over gRPC", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('IssueCertificate with csr_pem body "AAAA": CSR_MALFORMED in those words, nothing written', async () => {
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, csrRequest("web", pemOf("AAAA"))));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_MALFORMED");
    expect(err.message).toContain(NOT_A_SEQUENCE("0x00"));
    expect(err.message).not.toContain("trailing");
    expect(await rowCounts(h)).toEqual(before);
  });
});
