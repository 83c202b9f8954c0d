/**
 * CSRs through IssueCertificate, held to the limits of the attributes (issue 10 items 7 and 9):
 * thousands of organizations in one CSR, a NUL in a name, an unpaired surrogate. Each is
 * INVALID_ARGUMENT on csr_pem before anything is stored: no certificate request, FAILED or
 * otherwise, and the server answers every one (no INTERNAL from PostgreSQL refusing NUL).
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bmp,
  generalName,
  name,
  OID,
  p256Spki,
  rawCsr,
  sanRequest,
  utf8,
} from "../support/raw-der";
import {
  Code,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  rowCounts,
  rpcError,
  startTestCertmint,
  type TestCertmint,
} from "./helpers";

let h: TestCertmint;
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const csr = (subject: Buffer, attributes: Buffer[] = []) =>
  rawCsr({ privateKey, subject, spki: p256Spki.named(publicKey), attributes });
const cn = (value: Buffer): [Buffer, Buffer] => [OID.commonName, value];
const san = sanRequest([[generalName.dns, Buffer.from("a.example.com")]]);

beforeAll(async () => {
  h = await startTestCertmint();
  const ca = await createRoot(h);
  await createProfileRows(h, { caId: ca.id });
}, 60_000);
afterAll(() => h?.stop());

describe("IssueCertificate with a CSR over the limits", () => {
  it("accepts the same CSR within them (the control)", async () => {
    const res = await issue(h, csrRequest("web", csr(name(cn(utf8("a.example.com"))), [san])));
    expect(res.certificate?.certificatePem).toContain("BEGIN CERTIFICATE");
  });

  it.each([
    [
      "2,800 organizations",
      () =>
        csr(
          name(
            ...Array.from({ length: 2800 }, (_, i): [Buffer, Buffer] => [
              OID.organization,
              utf8(`o${i}`),
            ]),
            cn(utf8("a.example.com")),
          ),
          [san],
        ),
      "CSR_SUBJECT_TOO_MANY_VALUES",
    ],
    [
      "NUL in the common name",
      () => csr(name(cn(utf8(Buffer.from("a.example.com\0x")))), [san]),
      "CSR_MALFORMED",
    ],
    [
      "an unpaired surrogate in a BMPString common name",
      () => csr(name(cn(bmp([0x61, 0xdc00]))), [san]),
      "CSR_MALFORMED",
    ],
    [
      "NUL in a DNS name",
      () =>
        csr(name(cn(utf8("a.example.com"))), [
          sanRequest([[generalName.dns, Buffer.from("a.example.com\0.evil.example.com")]]),
        ]),
      "CSR_MALFORMED",
    ],
  ])("%s: INVALID_ARGUMENT on csr_pem, nothing stored", async (_name, make, reason) => {
    const before = await rowCounts(h);
    const err = await rpcError(issue(h, csrRequest("web", make())));
    expect({ code: err.code, reason: err.reason }, err.message).toEqual({
      code: Code.INVALID_ARGUMENT,
      reason,
    });
    expect(err.violations.map((v) => v.field)).toEqual(["csr_pem"]);
    expect(await rowCounts(h)).toEqual(before);
  });
});
