/**
 * IssueCertificate and RenewCertificate with CSRs answer the same with CSR threads
 * (CERTMINT_CSR_WORKERS) and without: a certificate for the
 * CSR's own key, and the same precise refusals, with nothing written. The counters say which
 * thread checked each CSR, so the threaded run is known to have used its thread.
 */
import { createPublicKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  call,
  createProfileRows,
  createRoot,
  csrRequest,
  issue,
  makeCsr,
  RenewalKeySource,
  renewRequest,
  rowCounts,
  rpcError,
  startTestCertmint,
  TempDir,
  type TestCertmint,
} from "./helpers";

const pem = (der: Buffer) =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${der
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n")}\n-----END CERTIFICATE REQUEST-----\n`;

describe.each([
  { threads: "1", where: "on a CSR thread" },
  { threads: "0", where: "on the event loop" },
])("CSRs checked $where (CERTMINT_CSR_WORKERS=$threads)", ({ threads }) => {
  let h: TestCertmint;
  const tmp = new TempDir();
  const checked = () => h.running.csrCheckCounts();

  beforeAll(async () => {
    h = await startTestCertmint({ CERTMINT_CSR_WORKERS: threads });
    const root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("issues and renews for the CSR's own key", async () => {
    for (const key of ["p256", "rsa", "ed25519"] as const) {
      const name = `${key}.threads.example.com`;
      const csr = makeCsr(tmp, `/CN=${name}`, [`DNS:${name}`], key);
      const res = await issue(h, csrRequest("web", csr.csrPem));
      const cert = new X509Certificate(res.certificate!.certificatePem);
      expect(cert.subjectAltName).toBe(`DNS:${name}`);
      expect(cert.publicKey.equals(createPublicKey(csr.keyPem))).toBe(true);
      const renewed = await call(
        h.certificates,
        "renewCertificate",
        renewRequest({
          certificateId: res.certificate!.certificateId,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
          csrPem: csr.csrPem,
        }),
      );
      expect(
        new X509Certificate(renewed.certificate!.certificatePem).publicKey.equals(cert.publicKey),
      ).toBe(true);
    }
    // Six CSRs: three issued, three renewed.
    if (threads === "0") expect(checked()).toBeUndefined();
    else expect(checked()).toEqual({ onThreads: 6, inline: 0 });
  });

  it("refuses a CSR whose signature does not verify, and a malformed one, writing nothing", async () => {
    const before = await rowCounts(h);
    const { csrPem } = makeCsr(tmp, "/CN=tamper.example.com", ["DNS:tamper.example.com"]);
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s+/g, ""), "base64");
    der.write("temper", der.indexOf(Buffer.from("tamper.example.com")), "latin1");
    const tampered = await rpcError(issue(h, csrRequest("web", pem(der))));
    expect(tampered.code).toBe(Code.INVALID_ARGUMENT);
    expect(tampered.reason).toBe("CSR_SIGNATURE_INVALID");
    expect(tampered.violations.map((v) => v.field)).toEqual(["csr_pem"]);

    const truncated = await rpcError(issue(h, csrRequest("web", pem(der.subarray(0, 40)))));
    expect(truncated.code).toBe(Code.INVALID_ARGUMENT);
    expect(truncated.reason).toBe("CSR_MALFORMED");
    expect(truncated.violations.map((v) => v.field)).toEqual(["csr_pem"]);
    expect(await rowCounts(h)).toEqual(before);
  });

  it("answers a profile it cannot find before the CSR's own faults", async () => {
    const err = await rpcError(issue(h, csrRequest("no-such-profile", "not a csr")));
    expect(err.code).toBe(Code.NOT_FOUND);
  });
});
