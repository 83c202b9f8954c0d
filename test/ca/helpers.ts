/**
 * Shared fixtures for the CA service tests: openssl as the independent verifier (run
 * synchronously in a temp directory, never throwing so failures can be asserted), subjects,
 * enum shorthands and small parsers of `openssl ... -text` output.
 */
import { spawn } from "node:child_process";
import { CertificateAuthorityStatus } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { KeyAlgorithm, SignatureAlgorithm, type Subject } from "../../gen/ts/certmint/v1/common";
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
  opts: { keyAlgorithm?: KeyAlgorithm; maxPathLength?: number; ttlSeconds?: number } = {},
) {
  const res = await call(h.authorities, "createIntermediateCertificateAuthority", {
    slug,
    description: `intermediate ${slug}`,
    parentCertificateAuthority: parent,
    subject: subject(`Intermediate ${slug}`),
    keyAlgorithm: opts.keyAlgorithm ?? KeyAlgorithm.KEY_ALGORITHM_EC_P256,
    signatureAlgorithm: SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED,
    ttl: opts.ttlSeconds === undefined ? undefined : { seconds: String(opts.ttlSeconds), nanos: 0 },
    maxPathLength: opts.maxPathLength,
  });
  return res.certificateAuthority!;
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
