/**
 * Probe 49 (CERT): an intermediate signed outside certmint, as outside CAs really sign: a key
 * identifier not derived from the key as certmint derives it, a subject the outside CA rewrote,
 * an outside root in RSA. What certmint then signs must chain to what was imported: its issuer
 * name is the imported subject, its AKI the imported SKI (RFC 5280 4.2.1.1, 4.1.2.4).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateExternalIntermediateCertificateAuthorityRequest,
  GetCertificateRevocationListRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { call, expectRpcError } from "../../support/harness";
import { openssl, opensslOk, TempDir } from "../../support/openssl";
import {
  attributesRequest,
  createPolicy,
  createProfile,
  issueCertificate,
  type LiveCertmint,
  newP256KeyArgs,
  ocspQuery,
  startLive,
  WEB_RULES,
} from "./live";
import { rfc5280Problems } from "./rfc5280";

describe("probe49 cert: outside-signed intermediates as outside CAs sign them", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootKey = "";
  let rootFile = "";
  let rootPem = "";

  const external = async (slug: string, keyAlgorithm = KeyAlgorithm.KEY_ALGORITHM_EC_P256) =>
    call(
      live.authorities,
      "createExternalIntermediateCertificateAuthority",
      CreateExternalIntermediateCertificateAuthorityRequest.fromPartial({
        slug,
        subject: { commonName: `${slug} CA`, organization: ["Probe"] },
        keyAlgorithm,
      }),
    );
  const sign = (csrPem: string, ext: string[], extra: string[] = []) =>
    opensslOk([
      "x509",
      "-req",
      "-in",
      tmp.file("i.csr", csrPem),
      "-CA",
      rootFile,
      "-CAkey",
      rootKey,
      "-days",
      "60",
      "-extfile",
      tmp.file("ext.cnf", ext.join("\n")),
      ...extra,
    ]);
  const CA_EXT = [
    "basicConstraints=critical,CA:TRUE,pathlen:0",
    "keyUsage=critical,keyCertSign,cRLSign",
    "authorityKeyIdentifier=keyid",
  ];

  beforeAll(async () => {
    live = await startLive();
    rootKey = tmp.out("root.key");
    rootFile = tmp.out("root.pem");
    opensslOk([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      rootKey,
      "-out",
      rootFile,
      "-days",
      "365",
      "-subj",
      "/O=Outside/CN=Outside RSA Root",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    rootPem = readFileSync(rootFile, "utf8");
    await createPolicy(live, "web", WEB_RULES);
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  const leafUnder = async (slug: string, interPem: string) => {
    await createProfile(live, `web-${slug}`, "web", { ca: slug });
    const res = await issueCertificate(
      live,
      attributesRequest(`web-${slug}`, {
        cn: `${slug}.example.com`,
        sans: { dnsNames: [`${slug}.example.com`] },
      }),
    );
    const c = res.certificate!;
    expect(rfc5280Problems(c.certificatePem, interPem, "leaf")).toEqual([]);
    const v = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      tmp.file("r.pem", rootPem),
      "-untrusted",
      tmp.file("chain.pem", c.certificateChainPem.join("\n")),
      tmp.file("l.pem", c.certificatePem),
    ]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    return c.certificatePem;
  };

  it("an SKI the outside CA chose (not the key's SHA-1) is what leaves name in their AKI", async () => {
    const ext = await external("chosen-ski");
    const inter = sign(ext.csrPem, [
      ...CA_EXT,
      "subjectKeyIdentifier=0102030405060708090A0B0C0D0E0F1011121314",
    ]);
    await call(live.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: "chosen-ski",
      certificatePem: inter,
      certificateChainPem: [rootPem],
    });
    const leaf = await leafUnder("chosen-ski", inter);
    // Its CRL names the imported SKI too: openssl finds the CRL's issuer by it.
    const crl = await call(
      live.authorities,
      "getCertificateRevocationList",
      GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: "chosen-ski" }),
    );
    const crlText = opensslOk(["crl", "-noout", "-text", "-in", tmp.file("c.crl", crl.crlPem)]);
    expect(crlText).toMatch(/01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14/);
    const chain = tmp.file("all.pem", `${rootPem}\n${inter}`);
    const v = openssl([
      "verify",
      "-crl_check",
      "-CAfile",
      chain,
      "-CRLfile",
      tmp.file("c2.crl", crl.crlPem),
      tmp.file("l2.pem", leaf),
    ]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // OCSP about the leaf, from the imported certificate's name and key.
    const o = ocspQuery(live, {
      issuer: tmp.file("i.pem", inter),
      ask: ["-cert", tmp.file("l3.pem", leaf)],
      caFile: chain,
    });
    expect(o.stderr, o.stdout).toMatch(/Response verify OK/);
    expect(o.stdout).toMatch(/: good/);
  });

  it("a subject the outside CA rewrote is refused at import, or is the issuer name of every leaf", async () => {
    const ext = await external("renamed");
    const inter = sign(
      ext.csrPem,
      [...CA_EXT, "subjectKeyIdentifier=hash"],
      ["-subj", "/C=DE/O=Outside/CN=Renamed Issuing CA"],
    );
    expect(opensslOk(["x509", "-noout", "-subject", "-in", tmp.file("ren.pem", inter)])).toMatch(
      /Renamed/,
    );
    const r = await call(live.authorities, "importCertificateAuthorityCertificate", {
      certificateAuthority: "renamed",
      certificatePem: inter,
      certificateChainPem: [rootPem],
    }).catch((e) => e);
    if (r instanceof Error) {
      const e = await expectRpcError(Promise.reject(r));
      expect([3, 9]).toContain(e.code);
      expect(e.reason).toBeTruthy();
      return;
    }
    await leafUnder("renamed", inter);
  });

  it("an intermediate without a subjectKeyIdentifier is refused at import", async () => {
    const ext = await external("no-ski");
    const inter = sign(ext.csrPem, [...CA_EXT, "subjectKeyIdentifier=none"]);
    const e = await expectRpcError(
      call(live.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "no-ski",
        certificatePem: inter,
        certificateChainPem: [rootPem],
      }),
    );
    expect(e.code).toBe(3);
  });

  it("a certificate for another key is refused at import, changing nothing", async () => {
    await external("other-key");
    const otherKey = tmp.out("o.key");
    const otherCsr = opensslOk([
      "req",
      "-new",
      ...newP256KeyArgs(otherKey),
      "-subj",
      "/O=Probe/CN=other-key CA",
    ]);
    const inter = sign(otherCsr, [...CA_EXT, "subjectKeyIdentifier=hash"]);
    const before = await live.db.query(
      "select status, certificate_pem from certificate_authority where slug = 'other-key'",
    );
    const e = await expectRpcError(
      call(live.authorities, "importCertificateAuthorityCertificate", {
        certificateAuthority: "other-key",
        certificatePem: inter,
        certificateChainPem: [rootPem],
      }),
    );
    expect([3, 9]).toContain(e.code);
    expect(
      await live.db.query(
        "select status, certificate_pem from certificate_authority where slug = 'other-key'",
      ),
    ).toEqual(before);
  });
});
