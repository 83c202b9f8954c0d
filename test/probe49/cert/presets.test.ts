/**
 * Probe 49 (CERT): every policy preset with every key type, certificates judged by the RFC 5280
 * checks of rfc5280.ts and `openssl verify -purpose`; a CA certificate asked of a self-signed
 * profile; name constraints of a CA above a CA without its own; CA creation with a signature
 * algorithm that does not fit its key.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRootCertificateAuthorityRequest } from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyPreset as P } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { KeyAlgorithm, SignatureAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { call, expectRpcError } from "../../support/harness";
import { openssl, TempDir } from "../../support/openssl";
import {
  attributesRequest,
  caCountRows,
  certificateCount,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
  WEB_RULES,
} from "./live";
import { rfc5280Problems } from "./rfc5280";

const A = KeyAlgorithm;
const KEYS: Array<[string, KeyAlgorithm]> = [
  ["p256", A.KEY_ALGORITHM_EC_P256],
  ["p384", A.KEY_ALGORITHM_EC_P384],
  // RSA-3072: the code-signing preset asks for at least 3072 bits.
  ["rsa3072", A.KEY_ALGORITHM_RSA_3072],
  ["ed25519", A.KEY_ALGORITHM_ED25519],
];
const PRESETS: Array<[string, P, string, { dns?: string[]; email?: string[] }]> = [
  ["tls-server", P.CERTIFICATE_POLICY_PRESET_TLS_SERVER, "sslserver", { dns: ["s.example.com"] }],
  ["tls-client", P.CERTIFICATE_POLICY_PRESET_TLS_CLIENT, "sslclient", { dns: ["c.example.com"] }],
  [
    "dual",
    P.CERTIFICATE_POLICY_PRESET_DUAL_PURPOSE_SERVER,
    "sslserver",
    { dns: ["d.example.com"] },
  ],
  ["code", P.CERTIFICATE_POLICY_PRESET_CODE_SIGNING, "", {}],
  [
    "email",
    P.CERTIFICATE_POLICY_PRESET_EMAIL_PROTECTION,
    "smimesign",
    { email: ["a@example.com"] },
  ],
];

describe("probe49 cert: presets, self-signed CAs, inherited constraints", () => {
  let live: LiveCertmint;
  const tmp = new TempDir();
  let rootPem = "";

  beforeAll(async () => {
    live = await startLive();
    rootPem = (await createRootCa(live, "root", A.KEY_ALGORITHM_EC_P256, { maxPathLength: 2 }))
      .certificatePem;
    for (const [name, preset] of PRESETS) {
      await createPolicy(
        live,
        name,
        {
          sanRules: { dns: { allowed: ["**.example.com"] }, email: { allowed: ["@example.com"] } },
          subjectRules: { commonName: { allowed: ["*"] } },
        },
        preset,
      );
      await createProfile(live, name, name, { ca: "root" });
    }
  });

  afterAll(async () => {
    await live?.stop();
    tmp.remove();
  });

  it.each(PRESETS)("the %s preset with every key type", async (name, _preset, purpose, sans) => {
    for (const [keyName, alg] of KEYS) {
      const res = await issueCertificate(
        live,
        attributesRequest(name, {
          cn: `${name} ${keyName}`,
          sans: { dnsNames: sans.dns ?? [], emailAddresses: sans.email ?? [] },
          keyAlgorithm: alg,
        }),
      );
      const pem = res.certificate!.certificatePem;
      expect.soft(rfc5280Problems(pem, rootPem, "leaf"), `${name} ${keyName}`).toEqual([]);
      // This openssl knows no code-signing purpose: the chain alone is verified then.
      const v = openssl([
        "verify",
        "-x509_strict",
        ...(purpose ? ["-purpose", purpose] : []),
        "-CAfile",
        tmp.file("r.pem", rootPem),
        tmp.file("l.pem", pem),
      ]);
      expect.soft(v.code, `${name} ${keyName}: ${v.stdout}${v.stderr}`).toBe(0);
    }
  });

  it("a CA certificate asked of a self-signed profile is refused, or is a well-formed root", async () => {
    await createPolicy(live, "self-ca", WEB_RULES, P.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA);
    const made = await createProfile(live, "self-ca", "self-ca", { selfSigned: true }).catch(
      (e) => e,
    );
    if (made instanceof Error) return;
    const before = await certificateCount(live.db);
    const r = await issueCertificate(
      live,
      attributesRequest("self-ca", { cn: "Self CA", extra: { caCertificate: {} } }),
    ).catch((e) => e);
    if (r instanceof Error) {
      const e = await expectRpcError(Promise.reject(r));
      expect([3, 9]).toContain(e.code);
      expect(await certificateCount(live.db)).toBe(before);
      return;
    }
    const pem = r.certificate!.certificatePem;
    expect(rfc5280Problems(pem, pem, "root")).toEqual([]);
  });

  it("a CA without constraints below a constrained CA signs nothing outside the constraints above it", async () => {
    await createIntermediateCa(live, {
      slug: "constrained",
      parentCertificateAuthority: "root",
      subject: { commonName: "Constrained" },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      maxPathLength: 1,
      nameConstraints: { permitted: { dnsNames: ["example.com"] } },
    });
    await createIntermediateCa(live, {
      slug: "below",
      parentCertificateAuthority: "constrained",
      subject: { commonName: "Below" },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
      maxPathLength: 0,
    });
    await createPolicy(live, "everything", {
      sanRules: { dns: { allowed: ["**"] } },
      subjectRules: { commonName: { allowed: ["*"] } },
    });
    await createProfile(live, "below", "everything", { ca: "below" });
    const before = await certificateCount(live.db);
    const e = await expectRpcError(
      issueCertificate(
        live,
        attributesRequest("below", { cn: "x.evil.org", sans: { dnsNames: ["x.evil.org"] } }),
      ),
    );
    expect(e.code).toBe(9);
    expect(e.reason).toBe("ISSUER_NAME_CONSTRAINTS");
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("a CA whose signature algorithm does not fit its key is refused", async () => {
    const before = await caCountRows(live);
    for (const [keyAlgorithm, signatureAlgorithm] of [
      [A.KEY_ALGORITHM_EC_P256, SignatureAlgorithm.SIGNATURE_ALGORITHM_SHA256_WITH_RSA],
      [A.KEY_ALGORITHM_RSA_2048, SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256],
      [A.KEY_ALGORITHM_ED25519, SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_WITH_SHA256],
      [A.KEY_ALGORITHM_EC_P384, SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519],
    ] as const) {
      const e = await expectRpcError(
        call(
          live.authorities,
          "createRootCertificateAuthority",
          CreateRootCertificateAuthorityRequest.fromPartial({
            slug: `mismatch-${keyAlgorithm}-${signatureAlgorithm}`,
            subject: { commonName: `mismatch ${keyAlgorithm} ${signatureAlgorithm}` },
            keyAlgorithm,
            signatureAlgorithm,
          }),
        ),
      );
      expect(e.code, `${keyAlgorithm}/${signatureAlgorithm}`).toBe(3);
    }
    expect(await caCountRows(live)).toEqual(before);
  });
});
