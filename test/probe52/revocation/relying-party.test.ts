/**
 * Probe 52 (REVOCATION): revocation as relying parties see it on the compiled server, where
 * probe49 and test/ca, test/ocsp left gaps: OCSP CertIDs naming the wrong issuer, every view
 * (OCSP GET from the cache, the CRL over HTTP and gRPC, GetCertificate, ListCertificates) right
 * after RevokeCertificate and ReleaseCertificateHold returned, a key compromised after one of
 * its certificates was revoked for another reason, an RSA CA's signature algorithms and an
 * OCSP response's dates, and the revocation of a certificate that has already expired.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DeleteCertificateAuthorityRequest,
  RevokeCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificateStatus,
  ListCertificatesRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason as R } from "../../../gen/ts/certmint/v1/common";
import {
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  csrRequest,
  issueCertificate,
  type LiveCertmint,
  startLive,
  WEB_RULES,
} from "../../probe49/cert/live";
import { opensslCsr } from "../../support/fixtures";
import { call, expectRpcError } from "../../support/harness";
import { crlFields, openssl, opensslOk, TempDir } from "../../support/openssl";
import { clockPast } from "../../support/wait";
import {
  certStatus,
  crlEntry,
  crlOf,
  crlText,
  issueLeaf,
  type Leaf,
  ocspGet,
  ocspRequest,
  readOcsp,
  revoke,
} from "./kit";

const A = KeyAlgorithm;

describe("probe52 revocation: what relying parties are told", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  const pem: Record<string, string> = {};
  const id: Record<string, string> = {};
  let n = 0;
  const leaf = (profile = "web-i1", extra = {}) =>
    issueLeaf(live, profile, `r${n++}.example.com`, extra);
  const file = (name: string) => tmp.file(`${name}.pem`, pem[name]!);
  const chain = (...names: string[]) =>
    tmp.file(`${names.join("-")}.chain.pem`, names.map((x) => pem[x]).join("\n"));
  /** An OCSP GET without nonce about `cert` of `issuer`, verified against the chain `caFile`. */
  const askGet = async (issuer: string, cert: string, caFile: string) => {
    const req = ocspRequest(tmp, file(issuer), ["-cert", tmp.file("ask.pem", cert)]);
    const res = await ocspGet(live, req);
    expect(res.status).toBe(200);
    return { ...readOcsp(tmp, res.der, caFile), headers: res.headers };
  };
  const getCert = async (c: Leaf) =>
    (await call(live.certificates, "getCertificate", { certificate: c.id })).certificate!;
  const listed = async (c: Leaf, status: CertificateStatus) => {
    const res = await call(
      live.certificates,
      "listCertificates",
      ListCertificatesRequest.fromPartial({ certificateAuthority: "i1", status, pageSize: 1000 }),
    );
    return res.certificates.some((x) => x.id === c.id);
  };

  beforeAll(async () => {
    live = await startLive();
    const root = await createRootCa(live, "root", A.KEY_ALGORITHM_EC_P256);
    pem.root = root.certificatePem;
    id.root = root.id;
    for (const [slug, alg] of [
      ["i1", A.KEY_ALGORITHM_EC_P384],
      ["i2", A.KEY_ALGORITHM_EC_P256],
    ] as const) {
      const ca = (
        await createIntermediateCa(live, {
          slug,
          parentCertificateAuthority: "root",
          subject: { commonName: `Probe52 ${slug}` },
          keyAlgorithm: alg,
        })
      ).certificateAuthority!;
      pem[slug] = ca.certificatePem;
      id[slug] = ca.id;
    }
    const rsa = await createRootCa(live, "rsa", A.KEY_ALGORITHM_RSA_2048);
    pem.rsa = rsa.certificatePem;
    id.rsa = rsa.id;
    await createPolicy(live, "web", WEB_RULES);
    for (const ca of ["i1", "i2", "rsa"]) await createProfile(live, `web-${ca}`, "web", { ca });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it("a CertID that names another CA than the certificate's issuer is unknown, never good", async () => {
    const l = await leaf();
    const certFile = tmp.file("l.pem", l.pem);
    // The leaf asked of its own issuer: good. Of its sibling i2 (whose CertID hashes match i2,
    // the serial i1's): i2 never issued it, so unknown (RFC 6960 2.2), signed by i2.
    const own = readOcsp(
      tmp,
      (await ocspGet(live, ocspRequest(tmp, file("i1"), ["-cert", certFile]))).der,
      chain("root", "i1"),
    );
    expect(own.verified, own.raw.stderr).toBe(true);
    expect(certStatus(own.text)).toBe("good");
    const other = readOcsp(
      tmp,
      (
        await ocspGet(
          live,
          ocspRequest(tmp, file("i2"), ["-serial", `0x${l.serial.replace(/:/g, "")}`]),
        )
      ).der,
      chain("root", "i2"),
    );
    expect(other.text).toMatch(/OCSP Response Status: successful/);
    expect(certStatus(other.text)).toBe("unknown");
    // A CA's own serial asked of the CA itself: it did not issue itself.
    const self = readOcsp(
      tmp,
      (
        await ocspGet(
          live,
          ocspRequest(tmp, file("i1"), [
            "-serial",
            `0x${(await caSerial("i1")).replace(/:/g, "")}`,
          ]),
        )
      ).der,
      chain("root", "i1"),
    );
    expect(certStatus(self.text)).toBe("unknown");
    // The intermediate asked of the root that signed it: good.
    const parent = await askGet("root", pem.i1!, chain("root"));
    expect(certStatus(parent.text)).toBe("good");
  });

  const caSerial = async (slug: string) =>
    (await call(live.authorities, "getCertificateAuthority", { certificateAuthority: slug }))
      .certificateAuthority!.serialNumber;

  it("once RevokeCertificate returned: cached OCSP, the CRL over HTTP and gRPC, Get and List all say revoked, at one time", async () => {
    const l = await leaf();
    const caFile = chain("root", "i1");
    // Warm every cache first: the OCSP answer without nonce, the CRL (HTTP and gRPC).
    expect(certStatus((await askGet("i1", l.pem, caFile)).text)).toBe("good");
    const crlUrl = `${live.base}/crl/${id.i1}.crl`;
    const before = await fetch(crlUrl);
    const etag = before.headers.get("etag")!;
    expect(etag).toMatch(/^"crl-\d+"$/);
    await before.arrayBuffer();
    const beforeNumber = BigInt((await crlOf(live, "i1")).crlNumber);
    expect(await listed(l, CertificateStatus.CERTIFICATE_STATUS_ACTIVE)).toBe(true);

    const revoked = await revoke(live, l.id, R.REVOCATION_REASON_AFFILIATION_CHANGED);
    const at = revoked.certificate!.revokeTime!;

    const o = await askGet("i1", l.pem, caFile);
    expect(o.verified, o.raw.stderr).toBe(true);
    expect(certStatus(o.text)).toBe("revoked");
    expect(o.text).toMatch(/Reason: affiliationChanged/);
    const ocspTime = new Date(/Revocation Time: (.*)/.exec(o.text)![1]!);
    expect(Math.floor(ocspTime.getTime() / 1000)).toBe(Math.floor(at.getTime() / 1000));

    const http = await fetch(crlUrl, { headers: { "if-none-match": etag } });
    expect(http.status).toBe(200);
    const der = Buffer.from(await http.arrayBuffer());
    const fromHttp = crlEntry(crlText(tmp, der), l.serial);
    expect(fromHttp?.reason).toBe("Affiliation Changed");
    expect(Math.floor(fromHttp!.date.getTime() / 1000)).toBe(Math.floor(at.getTime() / 1000));
    const grpc = await crlOf(live, "i1");
    expect(BigInt(grpc.crlNumber)).toBeGreaterThan(beforeNumber);
    expect(crlEntry(crlText(tmp, grpc.crlPem), l.serial)?.reason).toBe("Affiliation Changed");

    const got = await getCert(l);
    expect(got.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    expect(got.revokeTime).toEqual(at);
    expect(await listed(l, CertificateStatus.CERTIFICATE_STATUS_REVOKED)).toBe(true);
    expect(await listed(l, CertificateStatus.CERTIFICATE_STATUS_ACTIVE)).toBe(false);
  });

  it("once ReleaseCertificateHold returned: the cached `revoked` OCSP answer and the CRL entry are gone", async () => {
    const l = await leaf();
    const caFile = chain("root", "i1");
    await revoke(live, l.id, R.REVOCATION_REASON_CERTIFICATE_HOLD);
    const held = await askGet("i1", l.pem, caFile);
    expect(held.text).toMatch(/Reason: certificateHold/);
    const crlUrl = `${live.base}/crl/${id.i1}.crl`;
    const heldCrl = await fetch(crlUrl);
    const etag = heldCrl.headers.get("etag")!;
    const heldDer = Buffer.from(await heldCrl.arrayBuffer());
    expect(crlEntry(crlText(tmp, heldDer), l.serial)?.reason).toBe("Certificate Hold");

    await call(live.certificates, "releaseCertificateHold", { certificate: l.id });

    const back = await askGet("i1", l.pem, caFile);
    expect(back.verified).toBe(true);
    expect(certStatus(back.text)).toBe("good");
    const http = await fetch(crlUrl, { headers: { "if-none-match": etag } });
    expect(http.status).toBe(200);
    const der = Buffer.from(await http.arrayBuffer());
    expect(crlEntry(crlText(tmp, der), l.serial)).toBeUndefined();
    expect(
      crlFields(tmp, opensslOk(["crl", "-inform", "DER", "-in", tmp.file("x.der", der)])).number,
    ).toBeGreaterThan(
      crlFields(tmp, opensslOk(["crl", "-inform", "DER", "-in", tmp.file("y.der", heldDer)]))
        .number,
    );
    // RFC 5280 5.3.1: a full CRL drops the entry; removeFromCRL is for delta CRLs.
    expect(crlText(tmp, der)).not.toMatch(/Remove From CRL/i);
    expect((await getCert(l)).status).toBe(CertificateStatus.CERTIFICATE_STATUS_ACTIVE);
    expect(await listed(l, CertificateStatus.CERTIFICATE_STATUS_REVOKED)).toBe(false);
  });

  it("keyCompromise of a key reaches its certificate revoked earlier as superseded: CRL and OCSP say keyCompromise", async () => {
    // Two certificates of one key (the same CSR sent twice): the first replaced and revoked as
    // superseded, then the second's key reported compromised. Every certificate of a
    // compromised key should carry keyCompromise (Mozilla Root Store Policy 6.1.1: a CA with
    // evidence of key compromise SHOULD update a CRL entry with another reason to
    // keyCompromise; RFC 5280 5.3.1): a relying party checking a signature made with the old
    // certificate before its superseded time must learn that the key is compromised.
    const { csrPem } = opensslCsr("/CN=twin.example.com", ["DNS:twin.example.com"], "ec");
    const old = (await issueCertificate(live, csrRequest("web-i1", csrPem))).certificate!;
    const current = (await issueCertificate(live, csrRequest("web-i1", csrPem))).certificate!;
    await revoke(live, old.certificateId, R.REVOCATION_REASON_SUPERSEDED);
    await revoke(live, current.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE);
    const text = crlText(tmp, (await crlOf(live, "i1")).crlPem);
    expect(crlEntry(text, current.serialNumber)?.reason).toBe("Key Compromise");
    const o = await askGet("i1", old.certificatePem, chain("root", "i1"));
    const got = (
      await call(live.certificates, "getCertificate", { certificate: old.certificateId })
    ).certificate!;
    expect({
      crl: crlEntry(text, old.serialNumber)?.reason,
      ocsp: /Reason: (\w+)/.exec(o.text)?.[1],
      get: R[got.revocationReason],
    }).toEqual({
      crl: "Key Compromise",
      ocsp: "keyCompromise",
      get: "REVOCATION_REASON_KEY_COMPROMISE",
    });
  });

  it("an RSA CA signs CRLs and OCSP answers with sha256WithRSAEncryption; response dates are consistent", async () => {
    const l = await leaf("web-rsa");
    const crl = crlText(tmp, (await crlOf(live, "rsa")).crlPem);
    expect(crl).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    const asked = Date.now();
    const o = await askGet("rsa", l.pem, chain("rsa"));
    expect(o.verified, o.raw.stderr).toBe(true);
    expect(o.text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    // RFC 6960 4.2.2.3: the CA key signs, named by its key hash; no certificate is needed then.
    expect(o.text).toMatch(/Responder Id: [0-9A-F]{40}/);
    expect(o.text).not.toMatch(/Certificate:/);
    const produced = new Date(/Produced At: (.*)/.exec(o.text)![1]!);
    const thisUpdate = new Date(/This Update: (.*)/.exec(o.text)![1]!);
    const nextUpdate = new Date(/Next Update: (.*)/.exec(o.text)![1]!);
    // Never dated after the moment it was asked for (a second of rounding allowed).
    expect(thisUpdate.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(produced.getTime()).toBeGreaterThanOrEqual(thisUpdate.getTime());
    expect(produced.getTime()).toBeGreaterThanOrEqual(Math.floor(asked / 1000) * 1000 - 120_000);
    // CERTMINT_OCSP_VALIDITY_SECONDS' default: an hour.
    expect(nextUpdate.getTime() - thisUpdate.getTime()).toBe(3600 * 1000);
    // max-age of an answer without nonce never runs past its nextUpdate (RFC 5019 6.2).
    const maxAge = Number(/max-age=(\d+)/.exec(o.headers.get("cache-control") ?? "")?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(Date.now() + maxAge * 1000).toBeLessThanOrEqual(nextUpdate.getTime() + 1000);
  });

  it("a certificate revoked after its notAfter is revoked everywhere, and listed on the next CRL", async () => {
    const l = await leaf("web-i1", { ttl: { seconds: "2", nanos: 0 } });
    const notAfter = new Date(
      /notAfter=(.*)/.exec(
        opensslOk(["x509", "-noout", "-enddate", "-in", tmp.file("e.pem", l.pem)]),
      )![1]!,
    );
    await clockPast(new Date(notAfter.getTime() + 1000));
    expect((await getCert(l)).status).toBe(CertificateStatus.CERTIFICATE_STATUS_EXPIRED);
    const r = await revoke(live, l.id, R.REVOCATION_REASON_CESSATION_OF_OPERATION);
    expect(r.certificate!.status).toBe(CertificateStatus.CERTIFICATE_STATUS_REVOKED);
    // RFC 5280 5.1.2.6: listed until one regularly scheduled CRL past its validity (README:
    // one CRL validity period after its notAfter).
    const text = crlText(tmp, (await crlOf(live, "i1")).crlPem);
    expect(crlEntry(text, l.serial)?.reason).toBe("Cessation Of Operation");
    const o = await askGet("i1", l.pem, chain("root", "i1"));
    expect(certStatus(o.text)).toBe("revoked");
  });

  it("a revoked intermediate's own CRL says of its unrevoked leaves what its OCSP answers: revoked", async () => {
    const i3 = (
      await createIntermediateCa(live, {
        slug: "i3",
        parentCertificateAuthority: "root",
        subject: { commonName: "Probe52 i3" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      })
    ).certificateAuthority!;
    pem.i3 = i3.certificatePem;
    await createProfile(live, "web-i3", "web", { ca: "i3" });
    const l = await leaf("web-i3");
    await call(
      live.authorities,
      "revokeCertificateAuthority",
      RevokeCertificateAuthorityRequest.fromPartial({
        certificateAuthority: "i3",
        reason: R.REVOCATION_REASON_CESSATION_OF_OPERATION,
      }),
    );
    const o = await askGet("i3", l.pem, chain("root", "i3"));
    expect(o.verified, o.raw.stderr).toBe(true);
    expect(certStatus(o.text)).toBe("revoked");
    expect(o.text).toMatch(/Reason: cessationOfOperation/);
    // The same CA's CRL, as served to relying parties (and signed after the revocation).
    const res = await fetch(`${live.base}/crl/${i3.id}.crl`);
    expect(res.status).toBe(200);
    const der = Buffer.from(await res.arrayBuffer());
    const entry = crlEntry(crlText(tmp, der), l.serial);
    // A relying party that checks the leaf's CRL alone (`openssl verify -crl_check`, as the
    // README describes it) must not accept what the same CA's OCSP calls revoked.
    const crlPem = opensslOk(["crl", "-inform", "DER", "-in", tmp.file("i3.der", der)]);
    const v = openssl([
      "verify",
      "-crl_check",
      "-CAfile",
      chain("root", "i3"),
      "-CRLfile",
      tmp.file("i3.crl", crlPem),
      tmp.file("l3.pem", l.pem),
    ]);
    expect({ entry: entry?.reason, verify: v.code === 0 ? "OK" : "refused" }).toEqual({
      entry: "Cessation Of Operation",
      verify: "refused",
    });
  });

  it("an unrevoked intermediate deleted while its certificate is valid does not drop out of revocation checking", async () => {
    // Deleted with its key, the intermediate signs nothing more here; but its certificate is
    // still a valid CA certificate under the root for years, and its (deleted, possibly
    // copied) key would make certificates that chain to the root. Relying parties learn that
    // only from the root: a CA that ceases operation is revoked (cessationOfOperation, RFC
    // 5280 5.3.1) before it goes, or the deletion is refused until it is.
    const i4 = (
      await createIntermediateCa(live, {
        slug: "i4",
        parentCertificateAuthority: "root",
        subject: { commonName: "Probe52 i4" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      })
    ).certificateAuthority!;
    const del = await call(
      live.authorities,
      "deleteCertificateAuthority",
      DeleteCertificateAuthorityRequest.fromPartial({ certificateAuthority: "i4" }),
    ).then(
      () => "deleted",
      async (e: unknown) => (await expectRpcError(Promise.reject(e))).reason,
    );
    if (del !== "deleted") return; // refused: nothing dropped out
    const text = crlText(tmp, (await crlOf(live, "root")).crlPem);
    const o = await askGet("root", i4.certificatePem, chain("root"));
    expect({ crl: crlEntry(text, i4.serialNumber)?.reason, ocsp: certStatus(o.text) }).toEqual({
      crl: "Cessation Of Operation",
      ocsp: "revoked",
    });
  });

  it("keyCompromise through one CA replaces the cached `good` answer of the same key's certificate under another CA", async () => {
    const { csrPem } = opensslCsr("/CN=cross.example.com", ["DNS:cross.example.com"], "ec");
    const underI1 = (await issueCertificate(live, csrRequest("web-i1", csrPem))).certificate!;
    const underI2 = (await issueCertificate(live, csrRequest("web-i2", csrPem))).certificate!;
    const caFile = chain("root", "i2");
    expect(certStatus((await askGet("i2", underI2.certificatePem, caFile)).text)).toBe("good");
    await crlOf(live, "i2");
    await revoke(live, underI1.certificateId, R.REVOCATION_REASON_KEY_COMPROMISE);
    const o = await askGet("i2", underI2.certificatePem, caFile);
    expect(certStatus(o.text)).toBe("revoked");
    expect(o.text).toMatch(/Reason: keyCompromise/);
    const text = crlText(tmp, (await crlOf(live, "i2")).crlPem);
    expect(crlEntry(text, underI2.serialNumber)?.reason).toBe("Key Compromise");
  });
});
