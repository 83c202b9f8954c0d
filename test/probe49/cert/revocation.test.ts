/**
 * Probe 49 (CERT): revocation as relying parties see it, on a live compiled server: CRLs
 * (numbering, dates, reasons, holds and their release, signatures, an intermediate's CRL, the
 * publication port) checked with `openssl crl` and `openssl verify -crl_check`, OCSP with
 * `openssl ocsp` against the server's HTTP responder, and RevokeCertificate's edge cases.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GetCertificateRevocationListRequest,
  RevokeCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { KeyAlgorithm, RevocationReason as R } from "../../../gen/ts/certmint/v1/common";
import { opensslCsr } from "../../support/fixtures";
import { call, expectRpcError } from "../../support/harness";
import { crlFields, openssl, opensslOk, TempDir } from "../../support/openssl";
import {
  attributesRequest,
  certificateCount,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  createWebProfile,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  ocspQuery,
  startLive,
  WEB_RULES,
} from "./live";

const A = KeyAlgorithm;

interface Leaf {
  id: string;
  serial: string;
  pem: string;
}

describe("probe49 cert: revocation, CRLs and OCSP", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";
  let interPem = "";
  let interId = "";
  let chainFile = "";
  let n = 0;

  const issue = async (profile = "web"): Promise<Leaf> => {
    const cn = `l${n++}.example.com`;
    const res = await issueCertificate(
      live,
      attributesRequest(profile, { cn, sans: { dnsNames: [cn] } }),
    );
    const c = res.certificate!;
    return { id: c.certificateId, serial: c.serialNumber, pem: c.certificatePem };
  };
  const revoke = (certificate: string, reason: R) =>
    call(live.certificates, "revokeCertificate", { certificate, reason });
  const crl = async (ca = "inter") => {
    const res = await call(
      live.authorities,
      "getCertificateRevocationList",
      GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: ca }),
    );
    return res;
  };
  const crlText = (pem: string) =>
    opensslOk(["crl", "-noout", "-text", "-in", tmp.file("c.crl", pem)]);
  /** The reason openssl prints for `serial` in a CRL's text, or undefined when not listed. */
  const entry = (text: string, serial: string): string | undefined => {
    const hex = BigInt(`0x${serial.replace(/:/g, "")}`)
      .toString(16)
      .toUpperCase()
      .padStart(2, "0");
    const re = new RegExp(
      `Serial Number: 0*${hex}\\n\\s*Revocation Date: [^\\n]*\\n((?:\\s{8,}[^\\n]*\\n)*)`,
      "i",
    );
    const m = re.exec(`${text}\n`);
    if (!m) return undefined;
    return /Reason Code:\s*\n\s*(.*)/.exec(m[1]!)?.[1]?.trim() ?? "(none)";
  };
  const ocsp = (leaf: Leaf, issuerPem = interPem) =>
    ocspQuery(live, {
      issuer: tmp.file("issuer.pem", issuerPem),
      ask: ["-cert", tmp.file("leaf.pem", leaf.pem)],
      caFile: chainFile,
      extra: ["-resp_text"],
    });

  beforeAll(async () => {
    live = await startLive();
    const root = await createRootCa(live, "root", A.KEY_ALGORITHM_EC_P256);
    rootPem = root.certificatePem;
    const inter = await createIntermediateCa(live, {
      slug: "inter",
      parentCertificateAuthority: "root",
      subject: { commonName: "Probe Inter" },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P384,
    });
    interPem = inter.certificateAuthority!.certificatePem;
    interId = inter.certificateAuthority!.id;
    chainFile = tmp.file("chain.pem", `${rootPem}\n${interPem}`);
    await createWebProfile(live, "inter");
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it("an empty CRL of the intermediate verifies with openssl and has the RFC 5280 fields", async () => {
    const res = await crl();
    const file = tmp.file("i.crl", res.crlPem);
    const v = openssl(["crl", "-noout", "-CAfile", chainFile, "-in", file]);
    expect(v.stderr + v.stdout).toMatch(/verify OK/);
    const text = crlText(res.crlPem);
    expect(text).toMatch(/Version 2/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA384/);
    expect(text).toMatch(/X509v3 CRL Number:\s*\n/);
    expect(text).not.toMatch(/CRL Number: critical/);
    expect(text).toMatch(/X509v3 Authority Key Identifier:/);
    const f = crlFields(tmp, res.crlPem);
    expect(f.next.getTime()).toBeGreaterThan(f.last.getTime());
    expect(String(f.number)).toBe(res.crlNumber);
    // DER from the publication port is the same CRL.
    const http = await fetch(`${live.base}/crl/${interId}.crl`);
    expect(http.status).toBe(200);
    const der = Buffer.from(await http.arrayBuffer());
    const viaHttp = opensslOk([
      "crl",
      "-inform",
      "DER",
      "-noout",
      "-crlnumber",
      "-in",
      tmp.file("h.crl", der),
    ]);
    expect(BigInt(viaHttp.trim().split("=")[1]!)).toBeGreaterThanOrEqual(f.number);
  });

  it("revocation reasons on the CRL, holds listed and released, numbers growing", async () => {
    const superseded = await issue();
    const unspecified = await issue();
    const held = await issue();
    const released = await issue();
    const good = await issue();
    const first = crlFields(tmp, (await crl()).crlPem).number;
    await revoke(superseded.id, R.REVOCATION_REASON_SUPERSEDED);
    await revoke(unspecified.id, R.REVOCATION_REASON_UNSPECIFIED);
    await revoke(held.id, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    await revoke(released.id, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    const whileHeld = crlText((await crl()).crlPem);
    expect(entry(whileHeld, released.serial)).toBe("Certificate Hold");
    await call(live.certificates, "releaseCertificateHold", { certificate: released.id });
    const res = await crl();
    const after = crlFields(tmp, res.crlPem).number;
    expect(after).toBeGreaterThan(first);
    const text = crlText(res.crlPem);
    expect(entry(text, superseded.serial)).toBe("Superseded");
    // RFC 5280 5.3.1: the reason code unspecified SHOULD be absent.
    expect(entry(text, unspecified.serial)).toBe("(none)");
    expect(entry(text, held.serial)).toBe("Certificate Hold");
    // A full CRL drops a released hold; removeFromCRL is for delta CRLs only.
    expect(entry(text, released.serial)).toBeUndefined();
    expect(entry(text, good.serial)).toBeUndefined();
    expect(text).not.toMatch(/Remove From CRL/i);
    // openssl's path validation with the CRL: revoked refused, good accepted.
    const crlFile = tmp.file("now.crl", res.crlPem);
    const check = (leaf: Leaf) =>
      openssl([
        "verify",
        "-crl_check",
        "-CAfile",
        chainFile,
        "-CRLfile",
        crlFile,
        tmp.file("v.pem", leaf.pem),
      ]);
    expect(check(superseded).stdout + check(superseded).stderr).toMatch(/certificate revoked/);
    expect(check(held).stdout + check(held).stderr).toMatch(/certificate revoked/);
    expect(check(good).code).toBe(0);
    expect(check(released).code).toBe(0);
  });

  it("OCSP good, revoked (with reason), unknown, and a released hold, by openssl ocsp", async () => {
    const good = await issue();
    const gone = await issue();
    const held = await issue();
    await revoke(gone.id, R.REVOCATION_REASON_KEY_COMPROMISE);
    await revoke(held.id, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    const g = ocsp(good);
    expect(g.stderr).toMatch(/Response verify OK/);
    expect(g.stdout).toMatch(/: good/);
    // openssl sends a nonce and checks the echo: a missing one is a warning on stderr.
    expect(g.stderr + g.stdout).not.toMatch(/no nonce|nonce verify error/i);
    expect(g.stdout).toMatch(/Next Update:/);
    const r = ocsp(gone);
    expect(r.stdout).toMatch(/: revoked/);
    expect(r.stdout).toMatch(/Reason: keyCompromise/);
    const h = ocsp(held);
    expect(h.stdout).toMatch(/: revoked/);
    expect(h.stdout).toMatch(/Reason: certificateHold/);
    await call(live.certificates, "releaseCertificateHold", { certificate: held.id });
    const back = ocsp(held);
    expect(back.stdout).toMatch(/: good/);
    const unknown = ocspQuery(live, {
      issuer: tmp.file("issuer.pem", interPem),
      ask: ["-serial", "0x7a5b0c0ffee0000000000000000000001"],
      caFile: chainFile,
    });
    expect(unknown.stderr).toMatch(/Response verify OK/);
    expect(unknown.stdout).toMatch(/: unknown/);
  });

  it("OCSP of the root about the intermediate, and after RevokeCertificateAuthority", async () => {
    const inter2 = await createIntermediateCa(live, {
      slug: "inter2",
      parentCertificateAuthority: "root",
      subject: { commonName: "Probe Inter 2" },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
    });
    const ca = inter2.certificateAuthority!;
    const asLeaf = { id: ca.id, serial: ca.serialNumber, pem: ca.certificatePem };
    const chain = tmp.file("rootonly.pem", rootPem);
    const ask = () =>
      ocspQuery(live, {
        issuer: tmp.file("r.pem", rootPem),
        ask: ["-cert", tmp.file("i2.pem", ca.certificatePem)],
        caFile: chain,
      });
    expect(ask().stdout).toMatch(/: good/);
    await call(
      live.authorities,
      "revokeCertificateAuthority",
      RevokeCertificateAuthorityRequest.fromPartial({
        certificateAuthority: "inter2",
        reason: R.REVOCATION_REASON_CESSATION_OF_OPERATION,
      }),
    );
    const after = ask();
    expect(after.stdout).toMatch(/: revoked/);
    const rootCrl = crlText((await crl("root")).crlPem);
    expect(entry(rootCrl, asLeaf.serial)).toBe("Cessation Of Operation");
    // The root's CRL verifies against the root alone.
    const v = openssl([
      "crl",
      "-noout",
      "-CAfile",
      chain,
      "-in",
      tmp.file("root.crl", (await crl("root")).crlPem),
    ]);
    expect(v.stderr + v.stdout).toMatch(/verify OK/);
  });

  it("RevokeCertificate edge cases: twice, unknown, a CA's serial, bad reasons", async () => {
    const leaf = await issue();
    const once = await revoke(leaf.id, R.REVOCATION_REASON_SUPERSEDED);
    const twice = await revoke(leaf.id, R.REVOCATION_REASON_AFFILIATION_CHANGED);
    expect(twice.certificate!.revocationReason).toBe(R.REVOCATION_REASON_SUPERSEDED);
    expect(twice.certificate!.revokeTime).toEqual(once.certificate!.revokeTime);
    const unknown = await expectRpcError(
      revoke("00000000-0000-4000-8000-000000000000", R.REVOCATION_REASON_SUPERSEDED),
    );
    expect(unknown.code).toBe(5);
    const bySerial = await expectRpcError(
      revoke("7a:5b:0c:0f:fe:e0:00:00:00:00:00:00:00:00:00:00:01", R.REVOCATION_REASON_SUPERSEDED),
    );
    expect(bySerial.code).toBe(5);
    const caSerial = await expectRpcError(
      revoke(
        (await call(live.authorities, "getCertificateAuthority", { certificateAuthority: "inter" }))
          .certificateAuthority!.serialNumber,
        R.REVOCATION_REASON_SUPERSEDED,
      ),
    );
    expect(caSerial.code).toBe(3);
    expect(caSerial.reason).toBeTruthy();
    const other = await issue();
    for (const reason of [
      R.REVOCATION_REASON_REMOVE_FROM_CRL,
      R.REVOCATION_REASON_AA_COMPROMISE,
      7 as R,
      99 as R,
    ]) {
      const e = await expectRpcError(revoke(other.id, reason));
      expect(e.code, `reason ${reason}`).toBe(3);
      expect(e.violations.length, `reason ${reason}`).toBeGreaterThan(0);
    }
    const still = await call(live.certificates, "getCertificate", { certificate: other.id });
    expect(still.certificate!.revokeTime).toBeUndefined();
  });

  it("keyCompromise blocks the key for later CSRs, and nothing is stored", async () => {
    const { csrPem, keyPem } = opensslCsr("/CN=kc.example.com", ["DNS:kc.example.com"], "ec");
    const first = await issueCertificate(live, csrRequest("web", csrPem));
    await revoke(first.certificate!.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE);
    const before = await certificateCount(live.db);
    // The same key, another CSR with other names.
    const csr2 = opensslOk([
      "req",
      "-new",
      "-key",
      tmp.file("kc.key", keyPem),
      "-subj",
      "/CN=kc2.example.com",
      "-addext",
      "subjectAltName=DNS:kc2.example.com",
    ]);
    const e = await expectRpcError(issueCertificate(live, csrRequest("web", csr2)));
    expect(e.code).toBe(3);
    expect(e.reason).toBe("KEY_BLOCKED");
    expect(await certificateCount(live.db)).toBe(before);
    // Released from hold? A key-compromised certificate is no hold.
    const rel = await expectRpcError(
      call(live.certificates, "releaseCertificateHold", {
        certificate: first.certificate!.certificateId,
      }),
    );
    expect(rel.code).toBe(9);
  });

  it("a sub-CA certificate issued through a profile can be revoked and shows on its issuer's CRL", async () => {
    await createPolicy(
      live,
      "sub",
      WEB_RULES,
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA,
    );
    await createProfile(live, "sub", "sub", { ca: "root" });
    const res = await issueCertificate(
      live,
      attributesRequest("sub", { cn: "Sub via profile", extra: { caCertificate: {} } }),
    );
    const c = res.certificate!;
    await revoke(c.certificateId, R.REVOCATION_REASON_CA_COMPROMISE);
    const text = crlText((await crl("root")).crlPem);
    expect(entry(text, c.serialNumber)).toBe("CA Compromise");
  });
});
