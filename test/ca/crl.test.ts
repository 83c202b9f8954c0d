/**
 * GetCertificateRevocationList: an X.509 v2 CRL (RFC 5280 5) in PEM and DER, verified by
 * `openssl crl -verify`, cached for the cache period and signed again (with the next cRLNumber)
 * once a revocation is counted, with the configured validity, the CA's AKI, and the revoked
 * certificates the CA issued (inserted as rows: revocation comes with the certificate
 * lifecycle).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CrlEncoding,
  type CertificateAuthority as PbCa,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
import { crlFields } from "../support/openssl";
import { waitFor } from "../support/wait";
import {
  createIntermediate,
  createRoot,
  DISABLED,
  extensionBlock,
  KeyAlgorithm,
  normHex,
  openssl,
  opensslOk,
  TempDir,
} from "./helpers";

/** Decodes a PEM body to DER. */
const pemToDer = (pem: string) =>
  Buffer.from(pem.replace(/-----(BEGIN|END) [^-]+-----/g, "").replace(/\s+/g, ""), "base64");

function verifyCrl(tmp: TempDir, crlPem: string, caPem: string) {
  return openssl([
    "crl",
    "-noout",
    "-in",
    tmp.file("c.crl", crlPem),
    "-CAfile",
    tmp.file("ca.pem", caPem),
    "-verify",
  ]);
}

describe("certificate revocation lists", () => {
  let h: TestCertmint;
  const tmp = new TempDir();
  let root: PbCa;
  let inter: PbCa;

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "crl-root", { keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P384 });
    inter = await createIntermediate(h, "crl-inter", root.id, {
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
    });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  const getCrl = (
    ref: string,
    encoding: CrlEncoding = CrlEncoding.CRL_ENCODING_UNSPECIFIED,
    knownCrlNumber = "",
  ) =>
    call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: ref,
      encoding,
      knownCrlNumber,
    });

  it.each([
    ["root (P-384)", () => root, "ecdsa-with-SHA384"],
    ["intermediate (RSA-2048)", () => inter, "sha256WithRSAEncryption"],
  ] as const)(
    "%s: PEM and DER are the same CRL, openssl verifies it, v2 with CRL Number and AKI",
    async (_n, ca, sigAlg) => {
      const crl = await getCrl(ca().slug);
      expect(crl.crlPem).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n?$/);
      expect(Buffer.from(crl.crlDer).equals(pemToDer(crl.crlPem))).toBe(true);
      const fromDer = opensslOk([
        "crl",
        "-inform",
        "DER",
        "-outform",
        "PEM",
        "-in",
        tmp.file("c.der", crl.crlDer),
      ]);
      expect(pemToDer(fromDer).equals(Buffer.from(crl.crlDer))).toBe(true);

      const v = verifyCrl(tmp, crl.crlPem, ca().certificatePem);
      expect(v.stderr + v.stdout).toMatch(/verify OK/);
      expect(v.code).toBe(0);
      // And not with another CA's certificate.
      const other = ca() === root ? inter : root;
      const wrong = verifyCrl(tmp, crl.crlPem, other.certificatePem);
      expect(wrong.stderr + wrong.stdout).not.toMatch(/verify OK/);

      const text = opensslOk(["crl", "-noout", "-text", "-in", tmp.file("t.crl", crl.crlPem)]);
      expect(text).toMatch(/Version 2 \(0x1\)/);
      expect(text).toContain(`Signature Algorithm: ${sigAlg}`);
      const crlNumber = extensionBlock(text, "X509v3 CRL Number");
      expect(crlNumber.body).toBe(crl.crlNumber);
      const aki = normHex(
        extensionBlock(text, "X509v3 Authority Key Identifier").body.split("\n")[0]!,
      );
      const caText = opensslOk(["x509", "-noout", "-text"], ca().certificatePem);
      const ski = normHex(extensionBlock(caText, "X509v3 Subject Key Identifier").body);
      expect(aki).toBe(ski);
      expect(text).toContain("No Revoked Certificates.");
      // Issuer is the CA's subject.
      const issuer = opensslOk([
        "crl",
        "-noout",
        "-issuer",
        "-nameopt",
        "RFC2253",
        "-in",
        tmp.file("i.crl", crl.crlPem),
      ]);
      const subject = opensslOk(
        ["x509", "-noout", "-subject", "-nameopt", "RFC2253"],
        ca().certificatePem,
      );
      expect(issuer.replace(/^issuer=/, "")).toBe(subject.replace(/^subject=/, ""));
    },
  );

  /** The CA's cRLNumber as openssl prints it. */
  const printedNumber = (pem: string) => crlFields(tmp, pem).number;
  /** What a revocation through another replica leaves in the database for this one to notice. */
  const countRevocationInDatabase = (caId: string) =>
    h.db.query(
      "update certificate_authority set revocation_count = revocation_count + 1 where id = $1",
      [caId],
    );
  /** The CA's CRL once it is signed after `than` (a counted revocation re-signs it). */
  async function crlNewerThan(ref: string, than: bigint) {
    let crl = await getCrl(ref);
    await waitFor("a CRL signed after the revocation", async () => {
      crl = await getCrl(ref);
      return BigInt(crl.crlNumber) > than;
    });
    return crl;
  }

  it("within the cache period every call gets the same CRL; a revocation gives the next cRLNumber", async () => {
    const first = await getCrl(root.id);
    expect(first.crlNumber).toMatch(/^\d+$/);
    expect(printedNumber(first.crlPem)).toBe(BigInt(first.crlNumber));
    // The CRL is cached (CERTMINT_CRL_CACHE_SECONDS, 60 by default): by id or slug, one after
    // another or at once, callers get the same bytes.
    const again = await getCrl(root.slug);
    expect(Buffer.from(again.crlDer).equals(Buffer.from(first.crlDer))).toBe(true);
    const many = await Promise.all(Array.from({ length: 6 }, () => getCrl(root.id)));
    for (const c of many) expect(c.crlNumber).toBe(first.crlNumber);

    const interBefore = (await getCrl(inter.id)).crlNumber;
    await countRevocationInDatabase(root.id);
    const next = await crlNewerThan(root.id, BigInt(first.crlNumber));
    expect(printedNumber(next.crlPem)).toBe(BigInt(next.crlNumber));
    // Each CA counts on its own: the root's revocation moves no number of the intermediate's.
    expect((await getCrl(inter.id)).crlNumber).toBe(interBefore);
    // A number is at least its CRL's thisUpdate in milliseconds (stop 41 of 2026-12-06: it
    // keeps growing across a restore of the database).
    expect(BigInt(next.crlNumber)).toBeGreaterThan(BigInt(Date.parse("2026-01-01T00:00:00Z")));
    const [row] = await h.db.query<{ crl_number: string }>(
      "select crl_number from certificate_authority where id = $1",
      [root.id],
    );
    expect(BigInt(row!.crl_number)).toBe(BigInt(next.crlNumber));
  });

  it("encoding DER or PEM returns that form of the same CRL alone; an unknown one is refused", async () => {
    const both = await getCrl(root.id);
    const der = await getCrl(root.id, CrlEncoding.CRL_ENCODING_DER);
    const pem = await getCrl(root.id, CrlEncoding.CRL_ENCODING_PEM);
    expect(der.crlNumber).toBe(both.crlNumber);
    expect(pem.crlNumber).toBe(both.crlNumber);
    expect(Buffer.from(der.crlDer).equals(Buffer.from(both.crlDer))).toBe(true);
    expect(der.crlPem).toBe("");
    expect(pem.crlPem).toBe(both.crlPem);
    expect(pem.crlDer).toHaveLength(0);
    expect({ ...der, crlDer: undefined, crlPem: undefined }).toEqual({
      ...both,
      crlDer: undefined,
      crlPem: undefined,
    });
    // The DER alone is a CRL openssl verifies.
    const fromDer = opensslOk([
      "crl",
      "-inform",
      "DER",
      "-in",
      tmp.file("alone.der", Buffer.from(der.crlDer)),
      "-outform",
      "PEM",
    ]);
    expect(verifyCrl(tmp, fromDer, root.certificatePem).code).toBe(0);
    const bad = await expectRpcError(getCrl(root.id, 9 as CrlEncoding));
    expect(bad).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "ENUM_VALUE_UNKNOWN" });
    expect(bad.violations.map((x) => x.field)).toEqual(["encoding"]);
  });

  it("known_crl_number: the CRL the caller holds comes back without its bytes, a newer one in full", async () => {
    const held = await getCrl(root.id);
    const { DER, PEM, UNSPECIFIED } = {
      DER: CrlEncoding.CRL_ENCODING_DER,
      PEM: CrlEncoding.CRL_ENCODING_PEM,
      UNSPECIFIED: CrlEncoding.CRL_ENCODING_UNSPECIFIED,
    };
    // Within the cache period the CRL is the one the caller holds: its number and times, no bytes,
    // whatever the encoding; leading zeros name the same number.
    for (const [encoding, known] of [
      [UNSPECIFIED, held.crlNumber],
      [DER, held.crlNumber],
      [PEM, `00${held.crlNumber}`],
    ] as const) {
      const same = await getCrl(root.id, encoding, known);
      expect(same, `${encoding} ${known}`).toEqual({
        ...held,
        crlPem: "",
        crlDer: Buffer.alloc(0),
        unchanged: true,
      });
    }
    expect(held.unchanged).toBe(false);
    // Another number (older, or one this CA never signed) gets the whole CRL.
    const other = await getCrl(root.id, UNSPECIFIED, (BigInt(held.crlNumber) - 1n).toString());
    expect(other.unchanged).toBe(false);
    expect(Buffer.from(other.crlDer).equals(Buffer.from(held.crlDer))).toBe(true);
    expect(other.crlPem).toBe(held.crlPem);

    // After a revocation the number held is stale: the new CRL, in full, that openssl verifies.
    await countRevocationInDatabase(root.id);
    await crlNewerThan(root.id, BigInt(held.crlNumber));
    const fresh = await getCrl(root.id, UNSPECIFIED, held.crlNumber);
    expect(fresh.unchanged).toBe(false);
    expect(BigInt(fresh.crlNumber)).toBeGreaterThan(BigInt(held.crlNumber));
    expect(printedNumber(fresh.crlPem)).toBe(BigInt(fresh.crlNumber));
    expect(verifyCrl(tmp, fresh.crlPem, root.certificatePem).code).toBe(0);

    // Not a number: refused, naming the field.
    for (const bad of ["12a", "-1", " 1", "0x10"]) {
      const err = await expectRpcError(getCrl(root.id, UNSPECIFIED, bad));
      expect(err, bad).toMatchObject({
        code: status.INVALID_ARGUMENT,
        reason: "CRL_NUMBER_INVALID",
      });
      expect(err.violations.map((x) => x.field)).toEqual(["known_crl_number"]);
    }
    // Longer than any cRLNumber (20 octets, 49 digits): refused by the request's limits.
    const long = await expectRpcError(getCrl(root.id, UNSPECIFIED, "1".repeat(50)));
    expect(long.code).toBe(status.INVALID_ARGUMENT);
    expect(long.violations.map((x) => x.field)).toEqual(["known_crl_number"]);
  });

  it("nextUpdate - thisUpdate is 86400 s by default, in the response and in the CRL", async () => {
    const crl = await getCrl(root.slug);
    expect(crl.nextUpdate!.getTime() - crl.thisUpdate!.getTime()).toBe(86_400_000);
    const { last, next } = crlFields(tmp, crl.crlPem);
    expect(next.getTime() - last.getTime()).toBe(86_400_000);
    expect(Math.abs(last.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    // The response's thisUpdate is the CRL's, to the second (X.509 times have no fraction).
    expect(Math.floor(crl.thisUpdate!.getTime() / 1000) * 1000).toBe(last.getTime());
  });

  it("lists each revoked certificate of this CA with its serial, date and reason, until a CRL period after it expired", async () => {
    const requestId = randomUUID();
    await h.db.query(
      `insert into certificate_request (id, profile_id, caller, request_id, request_fingerprint, kind, status,
         subject, sans, params, created_at, updated_at)
       values ($1, $2, 'test', null, 'f', 'ISSUE', 'ISSUED', '{}', '{}', '{}', now(), now())`,
      [requestId, randomUUID()],
    );
    const serial = () => `01${randomBytes(16).toString("hex")}`;
    const insertCert = (
      ca: string,
      s: string,
      revokedAt: Date | null,
      reason: string | null,
      notAfter: Date,
    ) =>
      h.db.query(
        `insert into certificate (id, serial_number, ca_id, certificate_request_id, subject, sans, key_algorithm,
           signature_algorithm, key_usages, extended_key_usages, not_before, not_after, fingerprint_sha256,
           certificate_pem, chain_pem, revoked_at, revocation_reason, owner, created_at)
         values ($1, $2, $3, $4, '{}', '{}', 'EC_P256', 'ECDSA_WITH_SHA256', '[]', '[]', now() - interval '1 day',
           $5, $6, 'pem', '[]', $7, $8, 'test', now())`,
        [randomUUID(), s, ca, requestId, notAfter, randomUUID(), revokedAt, reason],
      );
    const future = new Date(Date.now() + 30 * 86_400_000);
    // Expired a minute ago: still listed (RFC 5280 5.1.2.6, on a CRL issued beyond its
    // validity; and a relying party whose clock runs behind still takes it for valid). Expired
    // more than a CRL period (86,400 s) ago: no longer.
    const past = new Date(Date.now() - 60_000);
    const longPast = new Date(Date.now() - 2 * 86_400_000);
    const compromised = serial();
    const superseded = serial();
    const unspecified = serial();
    const justExpired = serial();
    const expired = serial();
    const valid = serial();
    const otherCa = serial();
    const t1 = new Date("2026-01-02T03:04:05Z");
    const t2 = new Date("2026-02-03T04:05:06Z");
    await insertCert(root.id, compromised, t1, "KEY_COMPROMISE", future);
    await insertCert(root.id, superseded, t2, "SUPERSEDED", future);
    await insertCert(root.id, unspecified, t2, "UNSPECIFIED", future);
    await insertCert(root.id, justExpired, t1, "KEY_COMPROMISE", past);
    await insertCert(root.id, expired, t1, "KEY_COMPROMISE", longPast);
    await insertCert(root.id, valid, null, null, future);
    await insertCert(inter.id, otherCa, t1, "CA_COMPROMISE", future);
    // Rows written behind certmint's back: count them as a revocation does, so the cached CRLs
    // are signed again.
    const before = BigInt((await getCrl(root.id)).crlNumber);
    const interBefore = BigInt((await getCrl(inter.id)).crlNumber);
    await countRevocationInDatabase(root.id);
    await countRevocationInDatabase(inter.id);

    const crl = await crlNewerThan(root.id, before);
    const v = verifyCrl(tmp, crl.crlPem, root.certificatePem);
    expect(v.stderr + v.stdout).toMatch(/verify OK/);
    const text = opensslOk(["crl", "-noout", "-text", "-in", tmp.file("r.crl", crl.crlPem)]);
    const entries = text
      .split(/\n\s*Serial Number: /)
      .slice(1)
      .map((block) => {
        const serialHex = block.split("\n")[0]!.trim().toLowerCase();
        const date = /Revocation Date: (.+)/.exec(block)?.[1]?.trim();
        const reason = /CRL Reason Code:\s*\n\s*(.+)/.exec(block)?.[1]?.trim();
        return { serialHex, date: date && new Date(date).toISOString(), reason };
      });
    // RFC 5280 5.1.2.6 sets no order for the entries.
    const bySerial = (a: { serialHex: string }, b: { serialHex: string }) =>
      a.serialHex.localeCompare(b.serialHex);
    expect(entries.sort(bySerial)).toEqual(
      [
        { serialHex: compromised, date: t1.toISOString(), reason: "Key Compromise" },
        { serialHex: superseded, date: t2.toISOString(), reason: "Superseded" },
        // RFC 5280 5.3.1: no reasonCode extension instead of "unspecified".
        { serialHex: unspecified, date: t2.toISOString(), reason: undefined },
        { serialHex: justExpired, date: t1.toISOString(), reason: "Key Compromise" },
      ].sort(bySerial),
    );
    expect(text).not.toContain(expired.toUpperCase());
    expect(text).not.toContain(valid.toUpperCase());
    expect(text).not.toContain(otherCa.toUpperCase());

    const interCrl = await crlNewerThan(inter.id, interBefore);
    const interText = opensslOk([
      "crl",
      "-noout",
      "-text",
      "-in",
      tmp.file("ri.crl", interCrl.crlPem),
    ]);
    expect(interText.toLowerCase()).toContain(otherCa);
    expect(interText).toContain("CA Compromise");
    expect(verifyCrl(tmp, interCrl.crlPem, inter.certificatePem).code).toBe(0);
  });

  it("a DISABLED CA still serves its CRL; unknown and missing CAs are refused", async () => {
    const ca = await createRoot(h, "crl-disabled", {
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
    });
    await call(h.authorities, "updateCertificateAuthority", {
      certificateAuthority: { ...ca, status: DISABLED },
      updateMask: ["status"],
    });
    const crl = await getCrl(ca.slug);
    expect(verifyCrl(tmp, crl.crlPem, ca.certificatePem).code).toBe(0);
    const text = opensslOk(["crl", "-noout", "-text", "-in", tmp.file("d.crl", crl.crlPem)]);
    expect(text).toContain("Signature Algorithm: ED25519");

    const nf = await expectRpcError(getCrl("no-such-ca"));
    expect(nf).toMatchObject({ code: status.NOT_FOUND, reason: "CERTIFICATE_AUTHORITY_NOT_FOUND" });
    const missing = await expectRpcError(getCrl(""));
    expect(missing).toMatchObject({ code: status.INVALID_ARGUMENT, reason: "REFERENCE_MISSING" });
    expect(missing.violations.map((x) => x.field)).toEqual(["certificate_authority"]);
  });
});

describe("CRL validity and publication URLs from the configuration", () => {
  let h: TestCertmint;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint({
      CERTMINT_CRL_VALIDITY_SECONDS: "3600",
      CERTMINT_PUBLIC_BASE_URL: "http://pki.example.test/",
    });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  it("nextUpdate - thisUpdate == CERTMINT_CRL_VALIDITY_SECONDS", async () => {
    const root = await createRoot(h, "hour-root");
    const crl = await call(h.authorities, "getCertificateRevocationList", {
      certificateAuthority: root.id,
      encoding: 0,
      knownCrlNumber: "",
    });
    expect(crl.nextUpdate!.getTime() - crl.thisUpdate!.getTime()).toBe(3_600_000);
    const { last, next } = crlFields(tmp, crl.crlPem);
    expect(next.getTime() - last.getTime()).toBe(3_600_000);
  });

  it("intermediates point at their issuer's CRL and certificate under CERTMINT_PUBLIC_BASE_URL", async () => {
    const root = await createRoot(h, "published-root");
    const inter = await createIntermediate(h, "published-inter", root.id);
    const text = opensslOk(["x509", "-noout", "-text"], inter.certificatePem);
    expect(extensionBlock(text, "X509v3 CRL Distribution Points").body).toContain(
      `URI:http://pki.example.test/crl/${root.id}.crl`,
    );
    expect(extensionBlock(text, "Authority Information Access").body).toContain(
      `CA Issuers - URI:http://pki.example.test/ca/${root.id}.crt`,
    );
    // A root has no issuer to point at.
    const rootText = opensslOk(["x509", "-noout", "-text"], root.certificatePem);
    expect(rootText).not.toContain("CRL Distribution Points");
  });
});
