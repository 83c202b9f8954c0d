/**
 * Shared fixtures for the CA service tests: openssl as the independent verifier (run
 * synchronously in a temp directory, never throwing so failures can be asserted), subjects,
 * enum shorthands and small parsers of `openssl ... -text` output.
 */
import { spawn } from "node:child_process";
import { CertificateAuthorityStatus } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { IssueCertificateRequest } from "../../gen/ts/certmint/v1/certificate_service";
import {
  type ExtendedKeyUsage,
  KeyAlgorithm,
  SignatureAlgorithm,
  type Subject,
} from "../../gen/ts/certmint/v1/common";
import { type PolicySpec, presetSpec } from "../../src/issuance/policy-engine";
import { call, type TestCertmint } from "../support/harness";
import { ROOT, START_TIMEOUT_MS, serverCommand } from "../support/server-process";

export {
  extensionBlock,
  normHex,
  openssl,
  opensslOk,
  type RunResult,
  TempDir,
} from "../support/openssl";
export { CertificateAuthorityStatus, KeyAlgorithm, SignatureAlgorithm };

import { openssl, opensslOk, type RunResult, type TempDir } from "../support/openssl";

export function subject(commonName: string, organization: string[] = ["certmint tests"]): Subject {
  return {
    country: "",
    state: "",
    locality: "",
    organization,
    organizationalUnit: [],
    commonName,
    streetAddress: "",
    postalCode: "",
    serialNumber: "",
    emailAddress: "",
  };
}

export const emptySubject = (): Subject => subject("", []);

export const ALL_KEY_ALGORITHMS = [
  KeyAlgorithm.KEY_ALGORITHM_RSA_2048,
  KeyAlgorithm.KEY_ALGORITHM_RSA_3072,
  KeyAlgorithm.KEY_ALGORITHM_RSA_4096,
  KeyAlgorithm.KEY_ALGORITHM_EC_P256,
  KeyAlgorithm.KEY_ALGORITHM_EC_P384,
  KeyAlgorithm.KEY_ALGORITHM_ED25519,
] as const;

export const keyName = (k: KeyAlgorithm): string => KeyAlgorithm[k].replace("KEY_ALGORITHM_", "");

/** Creates a root CA over gRPC with sensible defaults; returns the proto CA. */
export async function createRoot(
  h: Pick<TestCertmint, "authorities">,
  slug: string,
  opts: { keyAlgorithm?: KeyAlgorithm; maxPathLength?: number; ttlSeconds?: number } = {},
) {
  const res = await call(h.authorities, "createRootCertificateAuthority", {
    slug,
    description: `root ${slug}`,
    subject: subject(`Root ${slug}`),
    keyAlgorithm: opts.keyAlgorithm ?? KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    ttl: opts.ttlSeconds === undefined ? undefined : { seconds: String(opts.ttlSeconds), nanos: 0 },
    maxPathLength: opts.maxPathLength,
  });
  return res.certificateAuthority!;
}

/** Creates an intermediate CA under `parent` (id or slug); returns the proto CA. */
export async function createIntermediate(
  h: Pick<TestCertmint, "authorities">,
  slug: string,
  parent: string,
  opts: {
    keyAlgorithm?: KeyAlgorithm;
    maxPathLength?: number;
    ttlSeconds?: number;
    subject?: Subject;
  } = {},
) {
  const res = await call(h.authorities, "createIntermediateCertificateAuthority", {
    slug,
    description: `intermediate ${slug}`,
    parentCertificateAuthority: parent,
    subject: opts.subject ?? subject(`Intermediate ${slug}`),
    keyAlgorithm: opts.keyAlgorithm ?? KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    ttl: opts.ttlSeconds === undefined ? undefined : { seconds: String(opts.ttlSeconds), nanos: 0 },
    maxPathLength: opts.maxPathLength,
  });
  return res.certificateAuthority!;
}

/** An intermediate named by the common name `cn` alone, as a CSR's subject may be. */
export const createNamedIntermediate = (
  h: Pick<TestCertmint, "authorities">,
  slug: string,
  parent: string,
  cn: string,
) => createIntermediate(h, slug, parent, { subject: subject(cn, []) });

/**
 * CreateExternalIntermediateCertificateAuthority with test defaults: the response (the CA,
 * PENDING_CERTIFICATE, and its CSR for the outside CA to sign).
 */
export function createExternalResponse(
  h: Pick<TestCertmint, "authorities">,
  slug: string,
  keyAlgorithm: KeyAlgorithm = KeyAlgorithm.KEY_ALGORITHM_UNSPECIFIED,
) {
  return call(h.authorities, "createExternalIntermediateCertificateAuthority", {
    slug,
    description: "signed outside",
    subject: subject(`External ${slug}`, ["certmint tests", "external"]),
    keyAlgorithm,
    signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
  });
}

/** An external intermediate (createExternalResponse): the proto CA, its csrPem set. */
export async function createExternal(h: Pick<TestCertmint, "authorities">, slug: string) {
  return (await createExternalResponse(h, slug)).certificateAuthority!;
}

/** ImportCertificateAuthorityCertificate of `pem` with its chain; returns the proto CA. */
export function importCaCertificate(
  h: Pick<TestCertmint, "authorities">,
  slug: string,
  pem: string,
  chain: string[],
) {
  return call(h.authorities, "importCertificateAuthorityCertificate", {
    certificateAuthority: slug,
    certificatePem: pem,
    certificateChainPem: chain,
  }).then((r) => r.certificateAuthority!);
}

/** What an import may change in a CA row (to show a refused import changed nothing). */
export async function caRowOf(h: Pick<TestCertmint, "db">, slug: string) {
  return (
    await h.db.query(
      `select status, certificate_pem, chain_pem, serial_number, not_before, not_after, csr_pem,
              subject, max_path_length, version, updated_at
         from certificate_authority where slug = $1`,
      [slug],
    )
  )[0];
}

export async function countCas(h: TestCertmint): Promise<number> {
  const [row] = await h.db.query<{ n: string }>("select count(*) as n from certificate_authority");
  return Number(row!.n);
}

/** `openssl verify -x509_strict` of `leaf` against `anchor`, with optional untrusted intermediates. */
export function verifyChain(
  tmp: TempDir,
  anchorPem: string,
  leafPem: string,
  untrusted: string[] = [],
): RunResult {
  const args = ["verify", "-x509_strict", "-CAfile", tmp.file("anchor.pem", anchorPem)];
  if (untrusted.length > 0) args.push("-untrusted", tmp.file("untrusted.pem", untrusted.join("")));
  args.push(tmp.file("leaf.pem", leafPem));
  return openssl(args);
}

/** An RSA/EC private key and a self-signed CA certificate made entirely by openssl. */
export function opensslRoot(
  tmp: TempDir,
  opts: { cn?: string; pathlen?: number; days?: number } = {},
): { keyPath: string; certPath: string; pem: string } {
  const keyPath = tmp.out("outside-root.key");
  const certPath = tmp.out("outside-root.pem");
  const bc = `critical,CA:TRUE${opts.pathlen === undefined ? "" : `,pathlen:${opts.pathlen}`}`;
  opensslOk([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-days",
    String(opts.days ?? 3650),
    "-subj",
    `/O=Outside Corp/CN=${opts.cn ?? "Outside Root"}`,
    "-addext",
    `basicConstraints=${bc}`,
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-addext",
    "subjectKeyIdentifier=hash",
  ]);
  return { keyPath, certPath, pem: opensslOk(["x509", "-in", certPath]) };
}

/** Signs `csrPem` with an openssl CA (cert + key) using the given extension lines. */
export function opensslSign(
  tmp: TempDir,
  csrPem: string,
  issuer: { keyPath: string; certPath: string },
  extensions: string[],
  days = 730,
): string {
  const ext = tmp.file("ext.cnf", `${extensions.join("\n")}\n`);
  const out = tmp.out("signed.pem");
  opensslOk([
    "x509",
    "-req",
    "-in",
    tmp.file("req.csr", csrPem),
    "-CA",
    issuer.certPath,
    "-CAkey",
    issuer.keyPath,
    "-CAcreateserial",
    "-days",
    String(days),
    "-sha256",
    "-extfile",
    ext,
    "-out",
    out,
  ]);
  return opensslOk(["x509", "-in", out]);
}

export const CA_EXTENSIONS = [
  "basicConstraints=critical,CA:TRUE",
  "keyUsage=critical,keyCertSign,cRLSign",
  "subjectKeyIdentifier=hash",
  "authorityKeyIdentifier=keyid:always",
];

export const ACTIVE = CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_ACTIVE;
export const DISABLED = CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_DISABLED;
export const PENDING = CertificateAuthorityStatus.CERTIFICATE_AUTHORITY_STATUS_PENDING_CERTIFICATE;

/** What a server process that is expected to refuse to start did. */
export interface RefusedStart {
  code: number | null;
  stdout: string;
  stderr: string;
  /** true when it started serving after all (then it was stopped). */
  served: boolean;
}

/**
 * Runs the server like startServerProcess does, but for a start that should fail: waits for
 * the process to exit and returns its exit code and output. A process that starts serving
 * instead is stopped and reported with served = true.
 */
export function runServerExpectingExit(env: Record<string, string>): Promise<RefusedStart> {
  const { command, args } = serverCommand();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let served = false;
  child.stdout?.on("data", (d) => {
    stdout += d;
    if (!served && stdout.includes('"msg":"serving"')) {
      served = true;
      child.kill("SIGTERM");
    }
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server neither exited nor served in time:\n${stdout}\n${stderr}`));
    }, START_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, served });
    });
  });
}

/**
 * A policy for OCSP responder certificates issued through a profile: any common name, no
 * subject alternative names, digitalSignature, and id-kp-OCSPSigning or clientAuth.
 */
export function ocspResponderSpec(): PolicySpec {
  const ANY = { allowed: ["*"], denied: [], required: false };
  const spec = presetSpec("TLS_CLIENT");
  spec.subject = { COMMON_NAME: ANY };
  spec.sans = {};
  spec.keyUsages = {
    allowed: ["DIGITAL_SIGNATURE"],
    required: ["DIGITAL_SIGNATURE"],
    denied: [],
  };
  spec.extendedKeyUsages = {
    allowed: ["OCSP_SIGNING", "CLIENT_AUTH"],
    required: [],
    denied: [],
  };
  spec.subjectNamesInSans = "NOT_REQUIRED";
  return spec;
}

/** "Example OCSP Responder" (an EC P-256 key certmint makes) through `profile`, with one EKU. */
export async function issueResponderCertificate(
  h: Pick<TestCertmint, "certificates">,
  profile: string,
  eku: ExtendedKeyUsage,
) {
  return (
    await call(
      h.certificates,
      "issueCertificate",
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile,
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: "Example OCSP Responder" },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
        extendedKeyUsages: [eku],
      }),
    )
  ).certificate!;
}

/** `openssl x509 -noout -text` of a PEM certificate. */
export const certificateText = (pem: string) => opensslOk(["x509", "-noout", "-text"], pem);

/**
 * A policy for CA certificates through a profile (another system's sub-CA): any common name,
 * DNS names under example.com, digitalSignature with keyCertSign and cRLSign allowed.
 */
export function subCaSpec(
  basicConstraints: PolicySpec["basicConstraints"] = { ca: "ALLOWED", maxPathLength: 0 },
): PolicySpec {
  const spec = presetSpec("INTERMEDIATE_CA");
  spec.basicConstraints = basicConstraints;
  spec.keyUsages = {
    allowed: ["DIGITAL_SIGNATURE", "KEY_CERT_SIGN", "CRL_SIGN"],
    required: ["DIGITAL_SIGNATURE"],
    denied: [],
  };
  spec.subject = { COMMON_NAME: { allowed: ["*"], denied: [], required: true } };
  spec.sans = {
    dns: { allowed: ["**.example.com"], denied: [], required: false },
    ip: { allowed: [], denied: [], required: false },
    email: { allowed: [], denied: [], required: false },
    uri: { allowed: [], denied: [], required: false },
  };
  return spec;
}
