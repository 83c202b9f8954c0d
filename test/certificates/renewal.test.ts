/**
 * RenewCertificate: a successor with the same profile, subject and SANs and the same lifetime
 * (unless a TTL is given), with a new key, the same key or a new CSR; the two certificates
 * point at each other; revoked, already renewed and disabled-CA renewals are refused.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CertificateAuthority,
  CertificateAuthorityStatus,
  UpdateCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import type { IssuedCertificate } from "../../gen/ts/certmint/v1/certificate_service";
import {
  attrRequest,
  Code,
  call,
  countRows,
  createProfileRows,
  createRoot,
  csrForKey,
  csrRequest,
  DAY,
  getCert,
  ISSUED,
  issue,
  KeyAlgorithm,
  makeCsr,
  opensslOk,
  RenewalKeySource,
  RevocationReason,
  renewRequest,
  rowCounts,
  rpcError,
  seconds,
  spkiOf,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  verifyLeaf,
} from "./helpers";

const lifetimeOf = (pem: string) => {
  const x = new X509Certificate(pem);
  return (new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()) / 1000;
};

describe("RenewCertificate", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  let profileId: string;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    ({ profileId } = await createProfileRows(h, { caId: root.id, slug: "web" }));
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const renew = (p: Parameters<typeof renewRequest>[0]) =>
    call(h.certificates, "renewCertificate", renewRequest(p));

  /** A certificate for a generated key, with a 5-day TTL. */
  async function generated(name: string, profile = "web") {
    const res = await issue(
      h,
      attrRequest(profile, { cn: name, dns: [name], ip: ["10.1.2.3"], ttlSeconds: 5 * DAY }),
    );
    return { cert: res.certificate!, keyPem: res.privateKeyPem };
  }

  /** A certificate for a CSR's key, with a 6-day TTL. */
  async function fromCsr(name: string) {
    const { csrPem, keyPem } = makeCsr(tmp, `/CN=${name}`, [`DNS:${name}`]);
    const res = await issue(h, csrRequest("web", csrPem, { ttlSeconds: 6 * DAY }));
    return { cert: res.certificate!, keyPem };
  }

  /** Same identity and profile, linked both ways. */
  async function expectSuccessor(old: IssuedCertificate, next: IssuedCertificate) {
    expect(next.certificateId).not.toBe(old.certificateId);
    expect(next.serialNumber).not.toBe(old.serialNumber);
    const [a, b] = [
      new X509Certificate(old.certificatePem),
      new X509Certificate(next.certificatePem),
    ];
    expect(b.subject).toBe(a.subject);
    expect(b.subjectAltName).toBe(a.subjectAltName);
    expect(verifyLeaf(tmp, root.certificatePem, next.certificatePem).code).toBe(0);
    const [oldPb, newPb] = [
      await getCert(h, old.certificateId),
      await getCert(h, next.certificateId),
    ];
    expect(oldPb.renewedByCertificateId).toBe(next.certificateId);
    expect(newPb.renewedFromCertificateId).toBe(old.certificateId);
    expect(newPb.renewedByCertificateId).toBe("");
    expect(newPb.certificateProfileId).toBe(oldPb.certificateProfileId);
    expect(newPb.certificateProfileId).toBe(profileId);
    expect(newPb.subject).toEqual(oldPb.subject);
    expect(newPb.subjectAlternativeNames).toEqual(oldPb.subjectAlternativeNames);
    expect(newPb.keyUsages).toEqual(oldPb.keyUsages);
    expect(newPb.extendedKeyUsages).toEqual(oldPb.extendedKeyUsages);
  }

  it("NEW: a fresh key pair, returned, with the original's identity and lifetime", async () => {
    const { cert: old, keyPem: oldKey } = await generated("new.example.com");
    const res = await renew({
      certificateId: old.certificateId,
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    });
    expect(res.status).toBe(ISSUED);
    const next = res.certificate!;
    await expectSuccessor(old, next);
    expect(res.privateKeyPem).toContain("-----BEGIN PRIVATE KEY-----");
    expect(spkiOf(next.certificatePem).equals(spkiOf(old.certificatePem))).toBe(false);
    expect(spkiOf(next.certificatePem).equals(spkiOf(res.privateKeyPem))).toBe(true);
    expect(res.privateKeyPem).not.toBe(oldKey);
    expect(lifetimeOf(next.certificatePem)).toBe(lifetimeOf(old.certificatePem));
    const [req] = await h.db.query(
      "select kind, renewal_of_certificate_id from certificate_request where id = $1",
      [res.certificateRequestId],
    );
    expect(req).toEqual({ kind: "RENEW", renewal_of_certificate_id: old.certificateId });
  });

  it("NEW with another key algorithm certifies a key of that algorithm", async () => {
    const { cert: old } = await generated("newalg.example.com");
    const res = await renew({
      certificateId: old.certificateId,
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
    });
    expect(new X509Certificate(res.certificate!.certificatePem).publicKey.asymmetricKeyType).toBe(
      "ed25519",
    );
    expect(createPrivateKey(res.privateKeyPem).asymmetricKeyType).toBe("ed25519");
  });

  it("REUSE: the same public key, no private key returned", async () => {
    const { cert: old, keyPem } = await fromCsr("reuse.example.com");
    const res = await renew({
      certificateId: old.certificateId,
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
    });
    await expectSuccessor(old, res.certificate!);
    expect(res.privateKeyPem).toBe("");
    expect(spkiOf(res.certificate!.certificatePem).equals(spkiOf(old.certificatePem))).toBe(true);
    expect(spkiOf(res.certificate!.certificatePem).equals(spkiOf(keyPem))).toBe(true);
    expect(lifetimeOf(res.certificate!.certificatePem)).toBe(lifetimeOf(old.certificatePem));
  });

  it("UNSPECIFIED reuses the key of a certificate issued from a CSR", async () => {
    const { cert: old } = await fromCsr("default.example.com");
    const res = await renew({ certificateId: old.certificateId });
    expect(res.privateKeyPem).toBe("");
    expect(spkiOf(res.certificate!.certificatePem).equals(spkiOf(old.certificatePem))).toBe(true);
  });

  it("CSR: a new CSR with the same identity is certified; other SANs are refused", async () => {
    const { cert: old } = await fromCsr("csr.example.com");
    const other = makeCsr(tmp, "/CN=csr.example.com", ["DNS:other.example.com"]);
    const before = await rowCounts(h);
    const err = await rpcError(
      renew({
        certificateId: old.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
        csrPem: other.csrPem,
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_IDENTITY_MISMATCH");
    expect(err.violations.map((v) => v.field)).toEqual(["csr_pem"]);
    expect(await rowCounts(h)).toEqual(before);
    expect((await getCert(h, old.certificateId)).renewedByCertificateId).toBe("");

    // The same names, written differently, are the same identity once normalised.
    const same = makeCsr(tmp, "/CN=csr.example.com", ["DNS:CSR.Example.com."], "p384");
    const res = await renew({
      certificateId: old.certificateId,
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
      csrPem: same.csrPem,
    });
    await expectSuccessor(old, res.certificate!);
    expect(spkiOf(res.certificate!.certificatePem).equals(spkiOf(same.keyPem))).toBe(true);
    expect(res.privateKeyPem).toBe("");
    expect(lifetimeOf(res.certificate!.certificatePem)).toBe(lifetimeOf(old.certificatePem));
  });

  // Found by an outside probe (2026-12-05, third stop): a CSR sent with NEW (or with no
  // key_source, NEW for a generated key) was dropped and a generated key certified; a
  // key_algorithm sent with CSR was dropped. REUSE already refused both.
  it("refuses fields that do not go with the key source, and stores nothing", async () => {
    const { cert: old } = await generated("fields.example.com");
    const csr = makeCsr(tmp, "/CN=fields.example.com", ["DNS:fields.example.com", "IP:10.1.2.3"]);
    const before = await rowCounts(h);
    for (const [req, field, says] of [
      [
        { keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW, csrPem: csr.csrPem },
        "csr_pem",
        /not NEW/,
      ],
      [{ csrPem: csr.csrPem }, "csr_pem", /an unset key_source is NEW/],
      [
        {
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
          csrPem: csr.csrPem,
          keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
        },
        "key_algorithm",
        /not CSR/,
      ],
      [
        {
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
          csrPem: csr.csrPem,
          validateOnly: true,
        },
        "csr_pem",
        /not NEW/,
      ],
    ] as const) {
      const err = await rpcError(renew({ certificateId: old.certificateId, ...req }));
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.reason).toBe("RENEWAL_FIELDS_CONFLICT");
      expect(err.violations.map((v) => v.field)).toEqual([field]);
      expect(err.message).toMatch(says);
    }
    expect(await rowCounts(h)).toEqual(before);
    // With key_source CSR alone, the CSR's key is certified.
    const res = await renew({
      certificateId: old.certificateId,
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
      csrPem: csr.csrPem,
    });
    expect(spkiOf(res.certificate!.certificatePem).equals(spkiOf(csr.keyPem))).toBe(true);
    expect(res.privateKeyPem).toBe("");
  });

  // An outside probe's note (2026-12-05): IssueCertificate refuses such a CSR, a renewal
  // signed it as an end entity, its request ignored.
  it("CSR: a CSR asking for a CA certificate does not renew an end entity's", async () => {
    const { cert: old, keyPem } = await fromCsr("ca-ask.example.com");
    const keyFile = tmp.file("ca-ask.key", keyPem);
    const csrPem = opensslOk([
      "req",
      "-new",
      "-key",
      keyFile,
      "-subj",
      "/CN=ca-ask.example.com",
      "-addext",
      "subjectAltName=DNS:ca-ask.example.com",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
    ]);
    const before = await rowCounts(h);
    const err = await rpcError(
      renew({
        certificateId: old.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
        csrPem,
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_IDENTITY_MISMATCH");
    expect(err.message).toContain("asks for a CA certificate");
    expect(await rowCounts(h)).toEqual(before);
  });

  it("CSR: a different subject is refused too", async () => {
    const { cert: old, keyPem } = await fromCsr("subj.example.com");
    const csrPem = csrForKey(tmp, keyPem, "/CN=subj.example.com/O=Other", ["DNS:subj.example.com"]);
    const err = await rpcError(
      renew({
        certificateId: old.certificateId,
        keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_CSR,
        csrPem,
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.reason).toBe("CSR_IDENTITY_MISMATCH");
  });

  it("a TTL, when given, replaces the original lifetime", async () => {
    const { cert: old } = await generated("ttl.example.com");
    const sent = Date.now();
    const res = await renew({ certificateId: old.certificateId, ttl: seconds(2 * DAY) });
    const answered = Date.now();
    const x = new X509Certificate(res.certificate!.certificatePem);
    expect(lifetimeOf(res.certificate!.certificatePem)).toBe(2 * DAY + 60);
    // TTL after the moment of renewal, which lies within the call (validTo has whole seconds).
    expect(new Date(x.validTo).getTime()).toBeGreaterThan(sent + 2 * DAY * 1000 - 1000);
    expect(new Date(x.validTo).getTime()).toBeLessThanOrEqual(answered + 2 * DAY * 1000);
  });

  it("refuses to renew a certificate twice (CERTIFICATE_ALREADY_RENEWED)", async () => {
    const { cert: old } = await generated("twice.example.com");
    const first = await renew({ certificateId: old.certificateId });
    const before = await rowCounts(h);
    const err = await rpcError(renew({ certificateId: old.certificateId }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("CERTIFICATE_ALREADY_RENEWED");
    expect(await rowCounts(h)).toEqual(before);
    expect((await getCert(h, old.certificateId)).renewedByCertificateId).toBe(
      first.certificate!.certificateId,
    );
    // The successor itself can be renewed.
    const second = await renew({ certificateId: first.certificate!.certificateId });
    expect((await getCert(h, first.certificate!.certificateId)).renewedByCertificateId).toBe(
      second.certificate!.certificateId,
    );
  });

  it("gives a certificate exactly one successor when renewals race", async () => {
    const { cert: old } = await generated("race.example.com");
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => renew({ certificateId: old.certificateId })),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") {
        const err = await rpcError(Promise.reject(r.reason));
        expect(err.code).toBe(Code.FAILED_PRECONDITION);
        expect(err.reason).toBe("CERTIFICATE_ALREADY_RENEWED");
      }
    }
    const winner = won[0]!.status === "fulfilled" ? won[0]!.value.certificate! : undefined;
    expect(await countRows(h, "certificate", `renewed_from_id = '${old.certificateId}'`)).toBe(1);
    expect((await getCert(h, old.certificateId)).renewedByCertificateId).toBe(
      winner!.certificateId,
    );
  });

  it("refuses to renew a revoked certificate (CERTIFICATE_REVOKED)", async () => {
    const { cert: old } = await generated("revoked.example.com");
    await call(h.certificates, "revokeCertificate", {
      certificate: old.certificateId,
      reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
    });
    const before = await rowCounts(h);
    const err = await rpcError(renew({ certificateId: old.certificateId }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("CERTIFICATE_REVOKED");
    expect(err.preconditions).toEqual([
      {
        type: "CERTIFICATE_STATE",
        subject: `certificates/${old.certificateId}`,
        description: "revoked",
      },
    ]);
    expect(await rowCounts(h)).toEqual(before);
  });

  it("refuses to renew under a disabled CA (CA_DISABLED)", async () => {
    const off = await createRoot(h, "off");
    await createProfileRows(h, { caId: off.id, slug: "off-web" });
    const { cert: old } = await generated("off.example.com", "off-web");
    const updated = await call(
      h.authorities,
      "updateCertificateAuthority",
      UpdateCertificateAuthorityRequest.fromPartial({
        certificateAuthority: {
          id: off.id,
          status: CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
        },
        updateMask: ["status"],
      }),
    );
    expect(updated.certificateAuthority!.status).toBe(
      CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED,
    );
    const err = await rpcError(renew({ certificateId: old.certificateId }));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.reason).toBe("CA_DISABLED");
    expect((await getCert(h, old.certificateId)).renewedByCertificateId).toBe("");
    expect(await countRows(h, "certificate", `renewed_from_id = '${old.certificateId}'`)).toBe(0);
  });

  it("is idempotent by request_id, even after the original was renewed", async () => {
    const { cert: old } = await generated("idem.example.com");
    const req = {
      certificateId: old.certificateId,
      requestId: "renew-idem",
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
    };
    const first = await renew(req);
    const before = await rowCounts(h);
    const again = await renew(req);
    expect(again.status).toBe(ISSUED);
    expect(again.certificateRequestId).toBe(first.certificateRequestId);
    expect(again.certificate!.certificateId).toBe(first.certificate!.certificateId);
    expect(again.certificate!.serialNumber).toBe(first.certificate!.serialNumber);
    expect(await rowCounts(h)).toEqual(before);
    expect(await countRows(h, "certificate", `renewed_from_id = '${old.certificateId}'`)).toBe(1);

    const reused = await rpcError(
      renew({ ...req, keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE }),
    );
    expect(reused.code).toBe(Code.ALREADY_EXISTS);
    expect(reused.reason).toBe("REQUEST_ID_REUSED");
  });

  it("validate_only checks a renewal and stores nothing", async () => {
    const { cert: old } = await generated("dry.example.com");
    const before = await rowCounts(h);
    const res = await renew({ certificateId: old.certificateId, validateOnly: true });
    expect(res.certificate).toBeUndefined();
    expect(res.privateKeyPem).toBe("");
    expect(await rowCounts(h)).toEqual(before);
    expect((await getCert(h, old.certificateId)).renewedByCertificateId).toBe("");
  });
});
