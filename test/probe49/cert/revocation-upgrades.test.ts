/**
 * Probe 49 (CERT): revocations that change after the fact and requests as clients really send
 * them: a hold made final by keyCompromise keeps its first time, a superseded certificate
 * revoked again for keyCompromise takes that reason on the CRL and in OCSP; roots and outside
 * intermediates cannot be revoked here; OCSP over GET with the base64 left unescaped.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateAuthorityStatus,
  CreateExternalIntermediateCertificateAuthorityRequest,
  GetCertificateRevocationListRequest,
  RevokeCertificateAuthorityRequest,
  UpdateCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { KeyAlgorithm, RevocationReason as R } from "../../../gen/ts/certmint/v1/common";
import { call, expectRpcError } from "../../support/harness";
import { opensslOk, TempDir } from "../../support/openssl";
import { clockPast } from "../../support/wait";
import {
  attributesRequest,
  createRootCa,
  createWebProfile,
  issueCertificate,
  type LiveCertmint,
  ocspQuery,
  startLive,
} from "./live";

describe("probe49 cert: revocation upgrades and raw OCSP GETs", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";
  let n = 0;

  const issue = async () => {
    const cn = `u${n++}.example.com`;
    const res = await issueCertificate(
      live,
      attributesRequest("web", { cn, sans: { dnsNames: [cn] } }),
    );
    return res.certificate!;
  };
  const crlText = async () => {
    const res = await call(
      live.authorities,
      "getCertificateRevocationList",
      GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: "root" }),
    );
    return opensslOk(["crl", "-noout", "-text", "-in", tmp.file("c.crl", res.crlPem)]);
  };
  const crlEntry = (text: string, serial: string) => {
    const hex = serial.replace(/:/g, "").toUpperCase().replace(/^0+/, "");
    const m = new RegExp(
      `Serial Number: 0*${hex}\\n\\s*Revocation Date: ([^\\n]*)\\n((?:\\s{8,}[^\\n]*\\n)*)`,
      "i",
    ).exec(`${text}\n`);
    return m
      ? { date: new Date(m[1]!), reason: /Reason Code:\s*\n\s*(.*)/.exec(m[2]!)?.[1]?.trim() }
      : undefined;
  };
  const ocsp = (pem: string) =>
    ocspQuery(live, {
      issuer: tmp.file("r.pem", rootPem),
      ask: ["-cert", tmp.file("l.pem", pem)],
      caFile: tmp.file("ca.pem", rootPem),
    });

  beforeAll(async () => {
    live = await startLive();
    rootPem = (await createRootCa(live, "root", KeyAlgorithm.KEY_ALGORITHM_EC_P256)).certificatePem;
    await createWebProfile(live, "root");
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it("a hold made final by keyCompromise keeps its first time; CRL and OCSP say keyCompromise", async () => {
    const c = await issue();
    const held = await call(live.certificates, "revokeCertificate", {
      certificate: c.certificateId,
      reason: R.REVOCATION_REASON_CERTIFICATE_HOLD,
    });
    const first = held.certificate!.revokeTime!;
    await clockPast(new Date(first.getTime() + 1000));
    const final = await call(live.certificates, "revokeCertificate", {
      certificate: c.certificateId,
      reason: R.REVOCATION_REASON_KEY_COMPROMISE,
    });
    expect(final.certificate!.revocationReason).toBe(R.REVOCATION_REASON_KEY_COMPROMISE);
    expect(final.certificate!.revokeTime).toEqual(first);
    const e = crlEntry(await crlText(), c.serialNumber)!;
    expect(e.reason).toBe("Key Compromise");
    expect(Math.floor(e.date.getTime() / 1000)).toBe(Math.floor(first.getTime() / 1000));
    const o = ocsp(c.certificatePem);
    expect(o.stdout).toMatch(/Reason: keyCompromise/);
  });

  it("a superseded certificate revoked again for keyCompromise takes that reason at its first time", async () => {
    const c = await issue();
    const sup = await call(live.certificates, "revokeCertificate", {
      certificate: c.certificateId,
      reason: R.REVOCATION_REASON_SUPERSEDED,
    });
    expect(ocsp(c.certificatePem).stdout).toMatch(/Reason: superseded/);
    await clockPast(new Date(sup.certificate!.revokeTime!.getTime() + 1000));
    await call(live.certificates, "revokeCertificate", {
      certificate: c.certificateId,
      reason: R.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const e = crlEntry(await crlText(), c.serialNumber)!;
    expect(e.reason).toBe("Key Compromise");
    expect(Math.floor(e.date.getTime() / 1000)).toBe(
      Math.floor(sup.certificate!.revokeTime!.getTime() / 1000),
    );
    // The cached "superseded" answer is replaced at once.
    expect(ocsp(c.certificatePem).stdout).toMatch(/Reason: keyCompromise/);
  });

  it("RevokeCertificateAuthority refuses a root and an outside-signed intermediate, changing nothing", async () => {
    await call(
      live.authorities,
      "createExternalIntermediateCertificateAuthority",
      CreateExternalIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "outside",
        subject: { commonName: "Outside" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    for (const ca of ["root", "outside"]) {
      const before = await live.db.query(
        "select status, revoked_at from certificate_authority where slug = $1",
        [ca],
      );
      const e = await expectRpcError(
        call(
          live.authorities,
          "revokeCertificateAuthority",
          RevokeCertificateAuthorityRequest.fromPartial({
            certificateAuthority: ca,
            reason: R.REVOCATION_REASON_KEY_COMPROMISE,
          }),
        ),
      );
      expect(e.code, ca).toBe(9);
      expect(e.reason, ca).toBeTruthy();
      expect(
        await live.db.query(
          "select status, revoked_at from certificate_authority where slug = $1",
          [ca],
        ),
      ).toEqual(before);
    }
  });

  it("OCSP over GET answers a request whose base64 holds '/' and '+' unescaped", async () => {
    const c = await issue();
    const certFile = tmp.file("g.pem", c.certificatePem);
    const caFile = tmp.file("gca.pem", rootPem);
    // Nonces until the base64 has a '/' (and ideally a '+'): clients often put it in the path as it is.
    let b64 = "";
    for (let i = 0; i < 200 && !(b64.includes("/") && b64.includes("+")); i++) {
      const out = tmp.out("req.der");
      opensslOk(["ocsp", "-issuer", caFile, "-cert", certFile, "-reqout", out]);
      b64 = readFileSync(out).toString("base64");
    }
    expect(b64).toContain("/");
    const res = await fetch(`${live.ocspUrl}/${b64}`);
    expect(res.status).toBe(200);
    const text = opensslOk([
      "ocsp",
      "-respin",
      tmp.file("g.der", Buffer.from(await res.arrayBuffer())),
      "-resp_text",
      "-noverify",
    ]);
    expect(text).toMatch(/OCSP Response Status: successful/);
    expect(text).toMatch(/Cert Status: good/);
  });

  it("a disabled CA signs no certificate, but its certificates are still revoked, listed and answered", async () => {
    const c = await issue();
    await call(
      live.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: {
          slug: "root",
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
        },
        updateMask: ["status"],
      }),
    );
    try {
      const refused = await expectRpcError(issue());
      expect(refused.code).toBe(9);
      await call(live.certificates, "revokeCertificate", {
        certificate: c.certificateId,
        reason: R.REVOCATION_REASON_PRIVILEGE_WITHDRAWN,
      });
      expect(crlEntry(await crlText(), c.serialNumber)?.reason).toBe("Privilege Withdrawn");
      const respFile = tmp.out("pw.der");
      const o = ocspQuery(live, {
        issuer: tmp.file("r.pem", rootPem),
        ask: ["-cert", tmp.file("l.pem", c.certificatePem)],
        caFile: tmp.file("ca.pem", rootPem),
        extra: ["-respout", respFile],
      });
      expect(o.stderr).toMatch(/Response verify OK/);
      expect(o.stdout).toMatch(/: revoked/);
      // OpenSSL's OCSP printer names reasons up to removeFromCRL (8) only and prints
      // privilegeWithdrawn (9) as "(UNKNOWN)": the ENUMERATED itself is read from the DER,
      // [0] EXPLICIT { ENUMERATED 9 } inside RevokedInfo (RFC 6960 4.2.1).
      const der = readFileSync(respFile);
      expect(der.includes(Buffer.from([0xa0, 0x03, 0x0a, 0x01, 0x09]))).toBe(true);
    } finally {
      await call(
        live.authorities,
        "updateCertificateAuthority",
        UpdateCertificateAuthorityRequest.fromPartial({
          certificateAuthority: {
            slug: "root",
            status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE,
          },
          updateMask: ["status"],
        }),
      );
    }
  });
});
