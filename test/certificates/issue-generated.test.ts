/**
 * IssueCertificate without a CSR: certmint generates the key pair and returns its private key
 * (PKCS #8) with the certificate. Under RETURN_ONCE nothing of the key is stored; under
 * STORE_ENCRYPTED the certificate row keeps it sealed, and a replay returns the same key.
 */
import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificateAuthority } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  attrRequest,
  call,
  createProfileRows,
  createRoot,
  ISSUED,
  issue,
  KeyAlgorithm,
  RenewalKeySource,
  renewRequest,
  spkiOf,
  startTestCertmint,
  TempDir,
  type TestCertmint,
  verifyLeaf,
} from "./helpers";

const CASES = [
  { pb: KeyAlgorithm.KEY_ALGORITHM_EC_P256, alg: "EC_P256", type: "ec", curve: "prime256v1" },
  { pb: KeyAlgorithm.KEY_ALGORITHM_ED25519, alg: "ED25519", type: "ed25519" },
  { pb: KeyAlgorithm.KEY_ALGORITHM_RSA_2048, alg: "RSA_2048", type: "rsa", bits: 2048 },
] as const;

/** Every stored row of the lifecycle tables, as JSON text (bytea as \x hex). */
async function dumpRows(h: TestCertmint): Promise<string> {
  const rows = await h.db.query<{ t: string }>(
    `select row_to_json(r)::text as t from certificate_request r
     union all select row_to_json(c)::text from certificate c`,
  );
  return rows.map((r) => r.t).join("\n");
}

/** Tokens of a private key that must never appear in the database in the clear. */
function keySecrets(privateKeyPem: string): string[] {
  const key = createPrivateKey(privateKeyPem);
  const der = key.export({ type: "pkcs8", format: "der" });
  const body = privateKeyPem.split("\n").filter((l) => l && !l.startsWith("-----"));
  const jwk = key.export({ format: "jwk" });
  return [
    "PRIVATE KEY",
    der.toString("hex"),
    der.toString("base64"),
    body[1] ?? body[0]!,
    Buffer.from(jwk.d!, "base64url").toString("hex"),
  ];
}

describe("IssueCertificate with a server-generated key", () => {
  let h: TestCertmint;
  let root: CertificateAuthority;
  const tmp = new TempDir();

  beforeAll(async () => {
    h = await startTestCertmint();
    root = await createRoot(h, "root");
    await createProfileRows(h, { caId: root.id, slug: "web" });
    await createProfileRows(h, {
      caId: root.id,
      slug: "keep",
      privateKeyRetention: "STORE_ENCRYPTED",
    });
  });
  afterAll(async () => {
    await h?.stop();
    tmp.remove();
  });

  for (const c of CASES) {
    it(`returns a ${c.alg} PKCS #8 key that matches the certificate and stores it only sealed, for replays`, async () => {
      const name = `${c.alg.toLowerCase().replace("_", "")}.example.com`;
      const res = await issue(
        h,
        attrRequest("web", {
          cn: name,
          dns: [name],
          keyAlgorithm: c.pb,
          requestId: `gen-${c.alg}`,
        }),
      );
      expect(res.status).toBe(ISSUED);
      const pem = res.certificate!.certificatePem;
      expect(res.privateKeyPem).toMatch(
        /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/,
      );
      const priv = createPrivateKey(res.privateKeyPem);
      expect(priv.asymmetricKeyType).toBe(c.type);
      if (c.type === "ec") expect(priv.asymmetricKeyDetails?.namedCurve).toBe(c.curve);
      if (c.type === "rsa") expect(priv.asymmetricKeyDetails?.modulusLength).toBe(c.bits);
      const x = new X509Certificate(pem);
      expect(spkiOf(createPublicKey(priv)).equals(spkiOf(x))).toBe(true);
      expect(x.checkPrivateKey(priv)).toBe(true);
      // The key really is the certificate's: a signature made with it verifies with the certificate.
      const data = Buffer.from("certmint");
      const hash = c.type === "ed25519" ? null : "sha256";
      expect(verify(hash, data, x.publicKey, sign(hash, data, priv))).toBe(true);
      expect(verifyLeaf(tmp, root.certificatePem, pem, ["-purpose", "sslserver"]).code).toBe(0);

      const [row] = await h.db.query(
        "select key_algorithm, sealed_private_key from certificate where id = $1",
        [res.certificate!.certificateId],
      );
      expect(row!.key_algorithm).toBe(c.alg);
      expect(row!.sealed_private_key).toBeNull();
      // RETURN_ONCE: the key waits sealed on the request for replays (a lost answer), for the
      // replay window (CERTMINT_GENERATED_KEY_REPLAY_SECONDS, 3600 s by default).
      const [req] = await h.db.query<{ sealed: boolean; window_s: number }>(
        `select sealed_private_key is not null as sealed,
                extract(epoch from key_held_until - updated_at)::int as window_s
           from certificate_request where id = $1`,
        [res.certificateRequestId],
      );
      expect(req).toEqual({ sealed: true, window_s: 3600 });
      const dump = await dumpRows(h);
      for (const secret of keySecrets(res.privateKeyPem)) expect(dump).not.toContain(secret);

      // A replay returns the same certificate with the same key.
      const again = await issue(
        h,
        attrRequest("web", {
          cn: name,
          dns: [name],
          keyAlgorithm: c.pb,
          requestId: `gen-${c.alg}`,
        }),
      );
      expect(again.certificate!.certificateId).toBe(res.certificate!.certificateId);
      expect(again.privateKeyPem).toBe(res.privateKeyPem);
    });
  }

  it("uses the profile's default key algorithm (EC P-256 when none is set)", async () => {
    const res = await issue(h, attrRequest("web", { dns: ["default.example.com"] }));
    const x = new X509Certificate(res.certificate!.certificatePem);
    expect(x.publicKey.asymmetricKeyType).toBe("ec");
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(createPrivateKey(res.privateKeyPem).asymmetricKeyType).toBe("ec");
  });

  it("normalises names: IDNA A-labels, lower case, no trailing dot, no duplicates", async () => {
    const res = await issue(
      h,
      attrRequest("web", {
        cn: "IDN test",
        dns: ["B\u00fccher.Example.com.", "xn--bcher-kva.example.com", "WWW.Example.COM"],
      }),
    );
    const x = new X509Certificate(res.certificate!.certificatePem);
    expect(x.subjectAltName).toBe("DNS:xn--bcher-kva.example.com, DNS:www.example.com");
    const [row] = await h.db.query("select sans from certificate where id = $1", [
      res.certificate!.certificateId,
    ]);
    expect(row!.sans).toMatchObject({ dns: ["xn--bcher-kva.example.com", "www.example.com"] });
  });

  it("STORE_ENCRYPTED keeps the key sealed on the certificate row and a replay returns it", async () => {
    const req = attrRequest("keep", {
      cn: "kept.example.com",
      dns: ["kept.example.com"],
      keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      requestId: "keep-1",
    });
    const res = await issue(h, req);
    expect(res.status).toBe(ISSUED);
    expect(res.privateKeyPem).toContain("-----BEGIN PRIVATE KEY-----");
    const x = new X509Certificate(res.certificate!.certificatePem);
    expect(x.checkPrivateKey(createPrivateKey(res.privateKeyPem))).toBe(true);

    const [row] = await h.db.query<{ sealed_private_key: Buffer | null }>(
      "select sealed_private_key from certificate where id = $1",
      [res.certificate!.certificateId],
    );
    const sealed = row!.sealed_private_key;
    expect(Buffer.isBuffer(sealed)).toBe(true);
    expect(sealed!.length).toBeGreaterThan(16);
    // Sealed: not a key in any encoding, and the key's bytes are not in it.
    expect(() => createPrivateKey({ key: sealed!, format: "der", type: "pkcs8" })).toThrow();
    expect(() => createPrivateKey({ key: sealed!, format: "der", type: "sec1" })).toThrow();
    expect(() => createPrivateKey(sealed!.toString("utf8"))).toThrow();
    const der = createPrivateKey(res.privateKeyPem).export({ type: "pkcs8", format: "der" });
    expect(sealed!.includes(der)).toBe(false);
    expect(sealed!.toString("latin1")).not.toContain("PRIVATE KEY");
    const dump = await dumpRows(h);
    for (const secret of keySecrets(res.privateKeyPem)) expect(dump).not.toContain(secret);

    const again = await issue(h, req);
    expect(again.certificate!.certificateId).toBe(res.certificate!.certificateId);
    expect(again.certificate!.serialNumber).toBe(res.certificate!.serialNumber);
    expect(again.privateKeyPem).toBe(res.privateKeyPem);
  });

  it("STORE_ENCRYPTED: a REUSE renewal keeps the same key, sealed again for the new certificate", async () => {
    const first = await issue(
      h,
      attrRequest("keep", {
        cn: "kept-renewed.example.com",
        dns: ["kept-renewed.example.com"],
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    const req = renewRequest({
      certificateId: first.certificate!.certificateId,
      requestId: "keep-renew-1",
      keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_REUSE,
    });
    const renewed = await call(h.certificates, "renewCertificate", req);
    expect(renewed.status).toBe(ISSUED);
    const [row] = await h.db.query<{ sealed_private_key: Buffer | null }>(
      "select sealed_private_key from certificate where id = $1",
      [renewed.certificate!.certificateId],
    );
    expect(Buffer.isBuffer(row!.sealed_private_key)).toBe(true);
    // A replay returns the kept key: the original private key, matching the new certificate.
    const again = await call(h.certificates, "renewCertificate", req);
    expect(again.certificate!.certificateId).toBe(renewed.certificate!.certificateId);
    expect(again.privateKeyPem).toBe(first.privateKeyPem);
    const x = new X509Certificate(renewed.certificate!.certificatePem);
    expect(x.checkPrivateKey(createPrivateKey(again.privateKeyPem))).toBe(true);
  });
});
