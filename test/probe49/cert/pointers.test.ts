/**
 * Probe 49 (CERT): what a relying party follows from a certificate alone. The CRL distribution
 * point and AIA pointers of every certificate of a chain lead, over the publication port, to the
 * issuer's CRL and certificate (`openssl verify -crl_download -crl_check_all`), a self-signed
 * leaf points nowhere, and names in the subject land in the SAN of their kind and encoding.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { IssueCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm, RevocationReason as R } from "../../../gen/ts/certmint/v1/common";
import { call } from "../../support/harness";
import { openssl, opensslOk, TempDir } from "../../support/openssl";
import {
  attributesRequest,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "./live";
import { OID, parseCert } from "./x509";

const A = KeyAlgorithm;

describe("probe49 cert: pointers and subject names", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";
  let interPem = "";
  let interId = "";

  beforeAll(async () => {
    live = await startLive();
    rootPem = (await createRootCa(live, "root", A.KEY_ALGORITHM_EC_P256)).certificatePem;
    const inter = await createIntermediateCa(live, {
      slug: "inter",
      parentCertificateAuthority: "root",
      subject: { commonName: "Pointer Inter" },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
    });
    interPem = inter.certificateAuthority!.certificatePem;
    interId = inter.certificateAuthority!.id;
    await createPolicy(
      live,
      "any",
      {
        sanRules: {
          dns: { allowed: ["**"] },
          ip: { allowed: ["0.0.0.0/0", "::/0"] },
          email: { allowed: ["@**"] },
        },
        subjectRules: { commonName: { allowed: ["*"] }, emailAddress: { allowed: ["*"] } },
      },
      CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
    );
    await createProfile(live, "any", "any", { ca: "inter" });
    await createProfile(live, "self", "any", { selfSigned: true });
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  const text = (pem: string) =>
    opensslOk(["x509", "-noout", "-text", "-in", tmp.file("t.pem", pem)]);

  it("the chain's CRL pointers lead to each issuer's CRL: openssl downloads them and refuses a revoked leaf", async () => {
    const good = await issueCertificate(live, attributesRequest("any", { cn: "good.example.com" }));
    const bad = await issueCertificate(live, attributesRequest("any", { cn: "bad.example.com" }));
    await call(live.certificates, "revokeCertificate", {
      certificate: bad.certificate!.certificateId,
      reason: R.REVOCATION_REASON_SUPERSEDED,
    });
    const leafText = text(good.certificate!.certificatePem);
    expect(leafText).toContain(`${live.base}/crl/${interId}.crl`);
    expect(leafText).toContain(`CA Issuers - URI:${live.base}/ca/${interId}.crt`);
    expect(leafText).toContain(`OCSP - URI:${live.ocspUrl}`);
    const rootFile = tmp.file("root.pem", rootPem);
    const interFile = tmp.file("inter.pem", interPem);
    // The root names no CRL of its own (a trust anchor), and openssl's -crl_check_all asks for
    // one at every depth: the root's CRL comes from the publication port by the root's id.
    const rootId = (
      await call(live.authorities, "getCertificateAuthority", { certificateAuthority: "root" })
    ).certificateAuthority!.id;
    const rootCrl = Buffer.from(
      await (await fetch(`${live.base}/crl/${rootId}.crl`)).arrayBuffer(),
    );
    const rootCrlPem = opensslOk(["crl", "-inform", "DER", "-in", tmp.file("root.crl", rootCrl)]);
    const rootCrlFile = tmp.file("rootcrl.pem", rootCrlPem);
    const verify = (pem: string) =>
      openssl([
        "verify",
        "-crl_download",
        "-crl_check_all",
        "-CAfile",
        rootFile,
        "-CRLfile",
        rootCrlFile,
        "-untrusted",
        interFile,
        tmp.file("leaf.pem", pem),
      ]);
    const ok = verify(good.certificate!.certificatePem);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);
    const no = verify(bad.certificate!.certificatePem);
    expect(no.stdout + no.stderr).toMatch(/certificate revoked/);
    // The AIA caIssuers URL serves the issuer's certificate in DER.
    const res = await fetch(`${live.base}/ca/${interId}.crt`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(parseCert(interPem).der)).toBe(true);
  });

  it("a self-signed leaf carries no pointers to a CA that does not exist", async () => {
    const res = await issueCertificate(live, attributesRequest("self", { cn: "self.example.com" }));
    const c = parseCert(res.certificate!.certificatePem);
    expect(
      c.ext(OID.crlDistributionPoints),
      "CRL distribution point on a self-signed leaf",
    ).toBeUndefined();
    expect(c.ext(OID.authorityInfoAccess), "AIA on a self-signed leaf").toBeUndefined();
  });

  it("a CN that is an IP address goes into an iPAddress SAN, normalised", async () => {
    const res = await issueCertificate(live, attributesRequest("any", { cn: "2001:DB8:0::1" }));
    const t = text(res.certificate!.certificatePem);
    expect(t).toMatch(/IP Address:2001:DB8:0:0:0:0:0:1/);
    expect(t).not.toMatch(/DNS:2001/);
    expect(t).toMatch(/Subject: CN\s?=\s?2001:db8::1/);
  });

  it("a CN that is an email address goes into an rfc822Name SAN; an emailAddress attribute is an IA5String", async () => {
    const res = await issueCertificate(
      live,
      IssueCertificateRequest.fromPartial({
        certificateProfile: "any",
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: "alice@example.com", emailAddress: "bob@example.com" },
            keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    const t = text(res.certificate!.certificatePem);
    expect(t).toMatch(/email:alice@example\.com/);
    expect(t).toMatch(/email:bob@example\.com/);
    const der = parseCert(res.certificate!.certificatePem).der;
    // pkcs-9-at-emailAddress 1.2.840.113549.1.9.1, then IA5String (0x16).
    const oid = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]);
    const at = der.indexOf(oid);
    expect(at).toBeGreaterThan(0);
    expect(der[at + oid.length]).toBe(0x16);
  });
});
