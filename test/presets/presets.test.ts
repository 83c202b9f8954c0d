/**
 * Issue 4: a certificate issued under each preset carries exactly the usages the preset
 * requires. For every leaf preset: a policy made from the preset over gRPC (only the name
 * rules filled in), a profile on a root CA that names no default usages, and an
 * IssueCertificate with a server-generated key that names no usages; the certificate is read
 * by openssl and by Node's X509Certificate, and its keyUsage / extKeyUsage must equal BOTH the
 * compiled policy's `required` lists (GetCertificatePolicy) AND the RFC 5280 names hard-coded
 * below, so the test fails when the preset, the compiler or the signer drifts. Usages outside
 * the preset are refused with the exact violation reasons.
 *
 * INTERMEDIATE_CA cannot be issued through IssueCertificate (certmint makes CA certificates
 * only through CertificateAuthorityService), so an intermediate made by
 * CreateIntermediateCertificateAuthority is parsed and evaluated against the compiled preset.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateIntermediateCertificateAuthorityRequest } from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CreateCertificatePolicyRequest,
  type DeepPartial,
  GetCertificatePolicyRequest,
  CertificatePolicyPreset as Preset,
  type SanRules,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CreateCertificateProfileRequest } from "../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateRequestStatus,
  GetCertificateRequest,
  IssueCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  ExtendedKeyUsage as Eku,
  KeyAlgorithm,
  KeyUsage as Ku,
  type SubjectAlternativeNames,
} from "../../gen/ts/certmint/v1/common";
import {
  compilePolicy,
  evaluate,
  type PolicyRequest,
  type PolicySpec,
  type PresetName,
  presetSpec,
} from "../../src/issuance/policy-engine";
import type {
  ExtendedKeyUsage as ModelEku,
  KeyUsage as ModelKu,
  SignatureAlgorithm as ModelSignatureAlgorithm,
} from "../../src/model/pki";
import { createRoot } from "../support/fixtures";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";

// ---- RFC 5280 names, independent of certmint's own tables ----------------------------------

/** keyUsage bits by their RFC 5280 4.2.1.3 names (contentCommitment = nonRepudiation). */
const KU_RFC: Record<Exclude<Ku, Ku.KEY_USAGE_UNSPECIFIED | Ku.UNRECOGNIZED>, string> = {
  [Ku.KEY_USAGE_DIGITAL_SIGNATURE]: "digitalSignature",
  [Ku.KEY_USAGE_CONTENT_COMMITMENT]: "contentCommitment",
  [Ku.KEY_USAGE_KEY_ENCIPHERMENT]: "keyEncipherment",
  [Ku.KEY_USAGE_DATA_ENCIPHERMENT]: "dataEncipherment",
  [Ku.KEY_USAGE_KEY_AGREEMENT]: "keyAgreement",
  [Ku.KEY_USAGE_KEY_CERT_SIGN]: "keyCertSign",
  [Ku.KEY_USAGE_CRL_SIGN]: "cRLSign",
  [Ku.KEY_USAGE_ENCIPHER_ONLY]: "encipherOnly",
  [Ku.KEY_USAGE_DECIPHER_ONLY]: "decipherOnly",
};
/** extKeyUsage purposes by their RFC 5280 4.2.1.12 names. */
const EKU_RFC: Record<
  Exclude<Eku, Eku.EXTENDED_KEY_USAGE_UNSPECIFIED | Eku.UNRECOGNIZED>,
  string
> = {
  [Eku.EXTENDED_KEY_USAGE_SERVER_AUTH]: "serverAuth",
  [Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH]: "clientAuth",
  [Eku.EXTENDED_KEY_USAGE_CODE_SIGNING]: "codeSigning",
  [Eku.EXTENDED_KEY_USAGE_EMAIL_PROTECTION]: "emailProtection",
  [Eku.EXTENDED_KEY_USAGE_TIME_STAMPING]: "timeStamping",
  [Eku.EXTENDED_KEY_USAGE_OCSP_SIGNING]: "OCSPSigning",
};
/** id-kp OIDs (RFC 5280 4.2.1.12), as Node's X509Certificate.keyUsage lists them. */
const EKU_OID: Record<string, string> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  OCSPSigning: "1.3.6.1.5.5.7.3.9",
};
/** How openssl 3 prints the keyUsage bits and extKeyUsage purposes. */
const OPENSSL_KU: Record<string, string> = {
  "Digital Signature": "digitalSignature",
  "Non Repudiation": "contentCommitment",
  "Key Encipherment": "keyEncipherment",
  "Data Encipherment": "dataEncipherment",
  "Key Agreement": "keyAgreement",
  "Certificate Sign": "keyCertSign",
  "CRL Sign": "cRLSign",
  "Encipher Only": "encipherOnly",
  "Decipher Only": "decipherOnly",
};
const OPENSSL_EKU: Record<string, string> = {
  "TLS Web Server Authentication": "serverAuth",
  "TLS Web Client Authentication": "clientAuth",
  "Code Signing": "codeSigning",
  "E-mail Protection": "emailProtection",
  "Time Stamping": "timeStamping",
  "OCSP Signing": "OCSPSigning",
};
/** RFC names to certmint's model names, to hand a parsed certificate to evaluate(). */
const MODEL_KU: Record<string, ModelKu> = {
  digitalSignature: "DIGITAL_SIGNATURE",
  contentCommitment: "CONTENT_COMMITMENT",
  keyEncipherment: "KEY_ENCIPHERMENT",
  dataEncipherment: "DATA_ENCIPHERMENT",
  keyAgreement: "KEY_AGREEMENT",
  keyCertSign: "KEY_CERT_SIGN",
  cRLSign: "CRL_SIGN",
  encipherOnly: "ENCIPHER_ONLY",
  decipherOnly: "DECIPHER_ONLY",
};
const MODEL_EKU: Record<string, ModelEku> = {
  serverAuth: "SERVER_AUTH",
  clientAuth: "CLIENT_AUTH",
  codeSigning: "CODE_SIGNING",
  emailProtection: "EMAIL_PROTECTION",
  timeStamping: "TIME_STAMPING",
  OCSPSigning: "OCSP_SIGNING",
};
const OPENSSL_SIGNATURE: Record<string, ModelSignatureAlgorithm> = {
  "ecdsa-with-SHA256": "ECDSA_WITH_SHA256",
  "ecdsa-with-SHA384": "ECDSA_WITH_SHA384",
  "ecdsa-with-SHA512": "ECDSA_WITH_SHA512",
  sha256WithRSAEncryption: "SHA256_WITH_RSA",
  sha384WithRSAEncryption: "SHA384_WITH_RSA",
  sha512WithRSAEncryption: "SHA512_WITH_RSA",
  ED25519: "ED25519",
};

const rfcKu = (us: readonly Ku[]) => us.map((u) => KU_RFC[u as keyof typeof KU_RFC]).sort();
const rfcEku = (us: readonly Eku[]) => us.map((u) => EKU_RFC[u as keyof typeof EKU_RFC]).sort();
/** Looks a name up in a table, failing loudly on one the table does not know. */
function known<T>(table: Record<string, T>, name: string): T {
  const v = table[name];
  if (v === undefined) throw new Error(`unknown name ${JSON.stringify(name)}`);
  return v;
}

// ---- Reading certificates -------------------------------------------------------------------

interface Ext {
  critical: boolean;
  values: string[];
}
interface ParsedUsages {
  keyUsage?: Ext; // RFC names
  extKeyUsage?: Ext; // RFC names
  basicConstraints?: Ext; // openssl's text, e.g. "CA:TRUE", "pathlen:0"
  signatureAlgorithm: string;
}

/** keyUsage, extKeyUsage and basicConstraints as `openssl x509 -ext` prints them. */
function opensslUsages(pem: string): ParsedUsages {
  const ext = execFileSync(
    "openssl",
    ["x509", "-noout", "-ext", "keyUsage,extendedKeyUsage,basicConstraints"],
    { input: pem, encoding: "utf8" },
  );
  const blocks = new Map<string, Ext>();
  let current: Ext | undefined;
  for (const line of ext.split("\n")) {
    if (!line.trim()) continue;
    const header = /^X509v3 ([A-Za-z ]+):\s*(critical)?\s*$/.exec(line);
    if (header) {
      current = { critical: header[2] === "critical", values: [] };
      blocks.set(header[1]!, current);
    } else if (current && /^\s/.test(line)) {
      current.values.push(...line.split(",").map((v) => v.trim()));
    } else {
      throw new Error(`unexpected openssl output line ${JSON.stringify(line)} in:\n${ext}`);
    }
  }
  const ku = blocks.get("Key Usage");
  const eku = blocks.get("Extended Key Usage");
  const text = execFileSync("openssl", ["x509", "-noout", "-text", "-certopt", "no_extensions"], {
    input: pem,
    encoding: "utf8",
  });
  return {
    keyUsage: ku && { ...ku, values: ku.values.map((v) => known(OPENSSL_KU, v)).sort() },
    extKeyUsage: eku && { ...eku, values: eku.values.map((v) => known(OPENSSL_EKU, v)).sort() },
    basicConstraints: blocks.get("Basic Constraints"),
    signatureAlgorithm: /Signature Algorithm: (\S+)/.exec(text)![1]!,
  };
}

/** Everything one leaf preset needs: its name rules, a request that fits them, expectations. */
interface LeafCase {
  name: PresetName;
  preset: Preset;
  sanRules: DeepPartial<SanRules>;
  commonName: string;
  sans: DeepPartial<SubjectAlternativeNames>;
  keyAlgorithm: KeyAlgorithm;
  keyType: "rsa" | "ec";
  /** What the certificate must carry, hard-coded from presets.ts in RFC 5280 names. */
  keyUsage: string[];
  extKeyUsage: string[];
  /** An extended key usage the preset does not allow (the tempting neighbour). */
  offEku: Eku;
}

const LEAVES: LeafCase[] = [
  {
    name: "TLS_SERVER",
    preset: Preset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
    sanRules: { dns: { allowed: ["**.example.com"] } },
    commonName: "api.example.com",
    sans: { dnsNames: ["api.example.com"] },
    // RSA: the preset ALLOWS keyEncipherment for RSA keys, but does not require it, so a
    // request naming no usages must not get it.
    keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
    keyType: "rsa",
    keyUsage: ["digitalSignature"],
    extKeyUsage: ["serverAuth"],
    offEku: Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH,
  },
  {
    name: "TLS_CLIENT",
    preset: Preset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
    sanRules: { dns: { allowed: ["**.example.com"] } },
    commonName: "client.example.com",
    sans: { dnsNames: ["client.example.com"] },
    keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    keyType: "ec",
    keyUsage: ["digitalSignature"],
    extKeyUsage: ["clientAuth"],
    offEku: Eku.EXTENDED_KEY_USAGE_SERVER_AUTH,
  },
  {
    name: "DUAL_PURPOSE_SERVER",
    preset: Preset.CERTIFICATE_POLICY_PRESET_DUAL_PURPOSE_SERVER,
    sanRules: { dns: { allowed: ["**.example.com"] } },
    commonName: "mesh.example.com",
    sans: { dnsNames: ["mesh.example.com"] },
    keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    keyType: "ec",
    keyUsage: ["digitalSignature"],
    extKeyUsage: ["clientAuth", "serverAuth"],
    offEku: Eku.EXTENDED_KEY_USAGE_CODE_SIGNING,
  },
  {
    name: "CODE_SIGNING",
    preset: Preset.CERTIFICATE_POLICY_PRESET_CODE_SIGNING,
    sanRules: {}, // no SAN slots: a code-signing identity is its subject
    commonName: "Example Release Signing",
    sans: {},
    keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_3072, // the preset's minimum RSA size
    keyType: "rsa",
    keyUsage: ["digitalSignature"],
    extKeyUsage: ["codeSigning"],
    offEku: Eku.EXTENDED_KEY_USAGE_TIME_STAMPING,
  },
  {
    name: "EMAIL_PROTECTION",
    preset: Preset.CERTIFICATE_POLICY_PRESET_EMAIL_PROTECTION,
    // Setting san_rules.email replaces the preset's slot whole: keep its `required`.
    sanRules: { email: { allowed: ["@example.com"], required: true } },
    commonName: "Alice Example",
    sans: { emailAddresses: ["alice@example.com"] },
    keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_RSA_2048, // keyEncipherment allowed, not required
    keyType: "rsa",
    keyUsage: ["digitalSignature"],
    extKeyUsage: ["emailProtection"],
    offEku: Eku.EXTENDED_KEY_USAGE_CLIENT_AUTH,
  },
];

const slugOf = (name: PresetName) => name.toLowerCase().replace(/_/g, "-");

let h: TestCertmint;
beforeAll(async () => {
  h = await startTestCertmint();
  await createRoot(h, "root"); // EC P-256, unlimited path length
});
afterAll(async () => {
  await h?.stop();
});

/** A policy from `preset` with only the given name rules filled in, over gRPC. */
async function createPresetPolicy(
  slug: string,
  preset: Preset,
  sanRules: DeepPartial<SanRules>,
): Promise<void> {
  await call(
    h.policies,
    "createCertificatePolicy",
    CreateCertificatePolicyRequest.fromPartial({
      preset,
      certificatePolicy: {
        slug,
        ...(Object.keys(sanRules).length ? { sanRules } : {}),
        subjectRules: { commonName: { allowed: ["*"] } },
      },
    }),
  );
}

/** The policy as certmint compiled and stored it. */
async function getPolicy(slug: string) {
  const res = await call(
    h.policies,
    "getCertificatePolicy",
    GetCertificatePolicyRequest.fromPartial({ certificatePolicy: slug }),
  );
  return res.certificatePolicy!;
}

/** A profile on the root CA whose defaults name no usages. */
async function createProfile(slug: string, policy: string): Promise<void> {
  const res = await call(
    h.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug,
        certificatePolicy: policy,
        issuer: { $case: "certificateAuthority", value: "root" },
      },
    }),
  );
  expect(res.certificateProfile?.defaults?.keyUsages ?? []).toEqual([]);
  expect(res.certificateProfile?.defaults?.extendedKeyUsages ?? []).toEqual([]);
}

const issueRequest = (c: LeafCase, usages: { keyUsages?: Ku[]; extendedKeyUsages?: Eku[] } = {}) =>
  IssueCertificateRequest.fromPartial({
    certificateProfile: slugOf(c.name),
    source: {
      $case: "attributes",
      value: {
        subject: { commonName: c.commonName },
        subjectAlternativeNames: c.sans,
        keyAlgorithm: c.keyAlgorithm,
      },
    },
    ...usages,
  });

describe("leaf presets: a certificate issued under the preset carries exactly its required usages", () => {
  beforeAll(async () => {
    for (const c of LEAVES) {
      await createPresetPolicy(slugOf(c.name), c.preset, c.sanRules);
      await createProfile(slugOf(c.name), slugOf(c.name));
    }
  });

  it.each(LEAVES)("$name", async (c) => {
    // The compiled policy requires what the table says (catches a drifting preset).
    const policy = await getPolicy(slugOf(c.name));
    expect(rfcKu(policy.keyUsages!.required)).toEqual(c.keyUsage);
    expect(rfcEku(policy.extendedKeyUsages!.required)).toEqual(c.extKeyUsage);

    const req = issueRequest(c);
    expect(req.keyUsages).toEqual([]);
    expect(req.extendedKeyUsages).toEqual([]);
    const res = await call(h.certificates, "issueCertificate", req);
    expect(res.status).toBe(CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED);
    expect(res.privateKeyPem).toContain("PRIVATE KEY");
    const pem = res.certificate!.certificatePem;

    // openssl: keyUsage (critical) and extKeyUsage are exactly the required sets; CA:FALSE.
    const seen = opensslUsages(pem);
    expect(seen.keyUsage).toEqual({ critical: true, values: c.keyUsage });
    expect(seen.keyUsage!.values).toEqual(rfcKu(policy.keyUsages!.required));
    expect(seen.extKeyUsage?.values).toEqual(c.extKeyUsage);
    expect(seen.extKeyUsage!.values).toEqual(rfcEku(policy.extendedKeyUsages!.required));
    expect(seen.basicConstraints).toEqual({ critical: true, values: ["CA:FALSE"] });

    // Node: not a CA, and the extKeyUsage OIDs are exactly the required purposes.
    const x = new X509Certificate(pem);
    expect(x.ca).toBe(false);
    expect([...x.keyUsage].sort()).toEqual(c.extKeyUsage.map((u) => EKU_OID[u]!).sort());
    expect(x.publicKey.asymmetricKeyType).toBe(c.keyType);
    if (c.keyAlgorithm === KeyAlgorithm.KEY_ALGORITHM_RSA_3072) {
      expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
    }

    // What certmint recorded says the same as what it signed.
    const got = await call(
      h.certificates,
      "getCertificate",
      GetCertificateRequest.fromPartial({ certificate: res.certificate!.certificateId }),
    );
    expect(rfcKu(got.certificate!.keyUsages)).toEqual(c.keyUsage);
    expect(rfcEku(got.certificate!.extendedKeyUsages)).toEqual(c.extKeyUsage);
  });

  it.each(LEAVES)("$name refuses a key usage and a purpose it does not allow", async (c) => {
    const err = await expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        issueRequest(c, {
          keyUsages: [Ku.KEY_USAGE_CONTENT_COMMITMENT],
          extendedKeyUsages: [c.offEku],
        }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.reason).toBe("POLICY_VIOLATION");
    expect(err.violations.map((v) => `${v.field} ${v.reason}`).sort()).toEqual([
      "extended_key_usages[0] EXTENDED_KEY_USAGE_NOT_ALLOWED",
      "key_usages[0] KEY_USAGE_NOT_ALLOWED",
    ]);
    const byReason = Object.fromEntries(err.violations.map((v) => [v.reason, v.description]));
    expect(byReason.KEY_USAGE_NOT_ALLOWED).toContain("CONTENT_COMMITMENT");
    expect(byReason.EXTENDED_KEY_USAGE_NOT_ALLOWED).toContain(
      Eku[c.offEku].replace("EXTENDED_KEY_USAGE_", ""),
    );
  });

  it("TLS_SERVER refuses keyEncipherment for an EC key, though it allows it for RSA", async () => {
    const c = { ...LEAVES[0]!, keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256 };
    const err = await expectRpcError(
      call(
        h.certificates,
        "issueCertificate",
        issueRequest(c, { keyUsages: [Ku.KEY_USAGE_KEY_ENCIPHERMENT] }),
      ),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.violations.map((v) => `${v.field} ${v.reason}`)).toEqual([
      "key_usages[0] KEY_USAGE_INCONSISTENT",
    ]);
  });
});

describe("INTERMEDIATE_CA", () => {
  const SLUG = "intermediate-ca";
  /** What presets.ts says, in RFC names. */
  const REQUIRED_KU = ["cRLSign", "digitalSignature", "keyCertSign"];
  const ALLOWED_KU = ["cRLSign", "digitalSignature", "keyCertSign"];
  const DENIED_EKU = ["OCSPSigning"];

  /** The intermediate's certificate (created once, read by every test below). */
  let pem: string;
  beforeAll(async () => {
    await createPresetPolicy(SLUG, Preset.CERTIFICATE_POLICY_PRESET_INTERMEDIATE_CA, {});
    pem = (await createIntermediate("issuing")).certificatePem;
  });

  /** An intermediate under the root, with the path length the preset caps (0). */
  async function createIntermediate(slug: string) {
    const res = await call(
      h.authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug,
        parentCertificateAuthority: "root",
        subject: { commonName: "Presets Issuing CA" },
        maxPathLength: 0,
      }),
    );
    return res.certificateAuthority!;
  }

  /** The policy certmint stored for SLUG, compiled again as issuance compiles it. */
  async function storedPolicy(slug: string) {
    const [row] = await h.db.query<{ spec: PolicySpec }>(
      "select spec from certificate_policy where slug = $1",
      [slug],
    );
    return compilePolicy(row!.spec);
  }

  /** A CA certificate, as read by openssl and Node, in the form evaluate() checks. */
  function caPolicyRequest(pem: string): PolicyRequest {
    const seen = opensslUsages(pem);
    const x = new X509Certificate(pem);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const pathLen = seen.basicConstraints!.values.find((v) => v.startsWith("pathlen:"));
    return {
      subject: { attributes: [{ type: "COMMON_NAME", value: x.subject.replace(/^CN=/, "") }] },
      sans: { dns: [], ip: [], email: [], uri: [] },
      keyAlgorithm: "EC_P256",
      signatureAlgorithm: known(OPENSSL_SIGNATURE, seen.signatureAlgorithm),
      keyUsages: (seen.keyUsage?.values ?? []).map((u) => known(MODEL_KU, u)),
      extendedKeyUsages: (seen.extKeyUsage?.values ?? []).map((u) => known(MODEL_EKU, u)),
      ttlSeconds: (Date.parse(x.validTo) - Date.parse(x.validFrom)) / 1000,
      isCa: x.ca,
      pathLength: pathLen === undefined ? undefined : Number(pathLen.slice("pathlen:".length)),
    };
  }

  it("the compiled preset requires keyCertSign and cRLSign and denies OCSPSigning", async () => {
    const policy = await getPolicy(SLUG);
    expect(rfcKu(policy.keyUsages!.required)).toEqual(REQUIRED_KU);
    expect(rfcKu(policy.keyUsages!.allowed)).toEqual(ALLOWED_KU);
    expect(rfcEku(policy.extendedKeyUsages!.required)).toEqual([]);
    expect(rfcEku(policy.extendedKeyUsages!.denied)).toEqual(DENIED_EKU);
  });

  it("an intermediate certmint creates conforms to the compiled preset (evaluate: no violations)", async () => {
    const seen = opensslUsages(pem);
    const x = new X509Certificate(pem);

    // What the CA certificate carries: exactly the preset's required bits, no extKeyUsage.
    expect(seen.keyUsage).toEqual({
      critical: true,
      values: ["cRLSign", "digitalSignature", "keyCertSign"],
    });
    expect(seen.extKeyUsage).toBeUndefined();
    expect(x.keyUsage ?? []).toEqual([]);
    expect(seen.basicConstraints).toEqual({ critical: true, values: ["CA:TRUE", "pathlen:0"] });
    expect(x.ca).toBe(true);
    const policy = await getPolicy(SLUG);
    for (const u of rfcKu(policy.keyUsages!.required)) expect(seen.keyUsage!.values).toContain(u);
    for (const u of seen.keyUsage!.values) expect(rfcKu(policy.keyUsages!.allowed)).toContain(u);

    // The parsed certificate, evaluated against the policy certmint stored for the preset.
    const compiled = await storedPolicy(SLUG);
    const local = presetSpec("INTERMEDIATE_CA");
    local.subject.COMMON_NAME = { allowed: ["*"], denied: [], required: false };
    expect(compiled.spec).toEqual(compilePolicy(local).spec);
    const violations = evaluate(compiled, caPolicyRequest(pem));
    expect(violations).toEqual([]);
  });

  it("an intermediate carries exactly the usages the preset requires", async () => {
    expect(opensslUsages(pem).keyUsage!.values).toEqual(REQUIRED_KU);
  });

  it("a profile may use it: its requests are CA requests (issue 17)", async () => {
    const res = await call(
      h.profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: SLUG,
          certificatePolicy: SLUG,
          issuer: { $case: "certificateAuthority", value: "root" },
        },
      }),
    );
    expect(res.certificateProfile?.slug).toBe(SLUG);
  });

  it("evaluate() refuses the purpose the preset denies on that same CA certificate", async () => {
    const request = caPolicyRequest(pem);
    const compiled = await storedPolicy(SLUG);
    expect(evaluate(compiled, request)).toEqual([]);
    const violations = evaluate(compiled, { ...request, extendedKeyUsages: ["OCSP_SIGNING"] });
    expect(violations.map((v) => `${v.field} ${v.reason}`)).toEqual([
      "extended_key_usages[0] EXTENDED_KEY_USAGE_DENIED",
    ]);
  });
});
