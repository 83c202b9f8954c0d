import { createHash, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateRequestStatus,
  CertificateStatus,
  type DeepPartial,
  IssueCertificateRequest,
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../gen/ts/certmint/v1/certificate_service";
import {
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  RevocationReason,
  SignatureAlgorithm,
} from "../../gen/ts/certmint/v1/common";
import type { Duration } from "../../gen/ts/google/protobuf/duration";
import { BadRequest, ErrorInfo, PreconditionFailure } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import {
  type CertmintClients,
  call,
  type DecodedError,
  decodeError,
  type TestCertmint,
} from "../support/harness";

export { createProfileRows, createRoot, tlsServerSpec } from "../support/fixtures";
export { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";
export {
  CertificateRequestStatus,
  CertificateStatus,
  ExtendedKeyUsage,
  KeyAlgorithm,
  KeyUsage,
  RenewalKeySource,
  RevocationReason,
  Role,
  SignatureAlgorithm,
};

export const DAY = 86_400;
export const ISSUED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_ISSUED;
export const FAILED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_FAILED;
export const PENDING_APPROVAL =
  CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_PENDING_APPROVAL;
export const REJECTED = CertificateRequestStatus.CERTIFICATE_REQUEST_STATUS_REJECTED;

/** gRPC status codes the tests expect (numbers, as ServiceError.code carries them). */
export const Code = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
} as const;

/** A google.protobuf.Duration of whole seconds. */
export const seconds = (n: number): Duration => ({ seconds: String(n), nanos: 0 });

/** A decoded error with the ErrorInfo metadata too (the harness's decodeError drops it). */
export interface FullError extends DecodedError {
  metadata: Record<string, string>;
  domain?: string;
}

export function decodeFull(err: unknown): FullError {
  const base = decodeError(err);
  const out: FullError = { ...base, metadata: {} };
  const raw = (err as { metadata?: { get(k: string): unknown[] } }).metadata?.get(
    "grpc-status-details-bin",
  )[0];
  if (!raw) return out;
  for (const d of Status.decode(raw as Buffer).details) {
    if (d.typeUrl.endsWith(".ErrorInfo")) {
      const info = ErrorInfo.decode(d.value);
      out.metadata = info.metadata;
      out.domain = info.domain;
    }
  }
  return out;
}

/** Awaits a call expected to fail; returns code, reason, violations and ErrorInfo metadata. */
export async function rpcError(promise: Promise<unknown>): Promise<FullError> {
  try {
    await promise;
  } catch (err) {
    return decodeFull(err);
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** A google.rpc.Status stored on a request (GetRequestStatus error), decoded. */
export function decodeStatus(st: Status | undefined) {
  const out = {
    code: st?.code ?? 0,
    message: st?.message ?? "",
    reason: undefined as string | undefined,
    violations: [] as Array<{ field: string; description: string; reason: string }>,
    preconditions: [] as Array<{ type: string; subject: string; description: string }>,
  };
  for (const d of st?.details ?? []) {
    if (d.typeUrl.endsWith(".ErrorInfo")) out.reason = ErrorInfo.decode(d.value).reason;
    if (d.typeUrl.endsWith(".BadRequest"))
      out.violations = BadRequest.decode(d.value).fieldViolations;
    if (d.typeUrl.endsWith(".PreconditionFailure"))
      out.preconditions = PreconditionFailure.decode(d.value).violations;
  }
  return out;
}

/** Field violations as sortable "field reason" strings. */
export const violationKeys = (vs: Array<{ field: string; reason: string }>) =>
  vs.map((v) => `${v.field} ${v.reason}`).sort();

// ---- openssl ---------------------------------------------------------------------------------
export {
  extensionBlock,
  normHex,
  openssl,
  opensslOk,
  type RunResult,
  TempDir,
} from "../support/openssl";

import { extensionBlock, normHex, openssl, opensslOk, type TempDir } from "../support/openssl";

// ---- Requests -------------------------------------------------------------------------------

export const issueRequest = (p: DeepPartial<IssueCertificateRequest>) =>
  IssueCertificateRequest.fromPartial(p);
export const renewRequest = (p: DeepPartial<RenewCertificateRequest>) =>
  RenewCertificateRequest.fromPartial(p);

export interface AttrOptions {
  cn?: string;
  dns?: string[];
  ip?: string[];
  keyAlgorithm?: KeyAlgorithm;
  requestId?: string;
  ttlSeconds?: number;
  keyUsages?: KeyUsage[];
  validateOnly?: boolean;
}

/** An IssueCertificate request with attributes (certmint generates the key). */
export function attrRequest(profile: string, o: AttrOptions = {}): IssueCertificateRequest {
  return issueRequest({
    certificateProfile: profile,
    requestId: o.requestId ?? "",
    source: {
      $case: "attributes",
      value: {
        subject: o.cn === undefined ? undefined : { commonName: o.cn },
        subjectAlternativeNames: { dnsNames: o.dns ?? [], ipAddresses: o.ip ?? [] },
        keyAlgorithm: o.keyAlgorithm ?? KeyAlgorithm.KEY_ALGORITHM_UNSPECIFIED,
      },
    },
    keyUsages: o.keyUsages ?? [],
    ttl: o.ttlSeconds === undefined ? undefined : seconds(o.ttlSeconds),
    validateOnly: o.validateOnly ?? false,
  });
}

/** An IssueCertificate request with a CSR (the client keeps its key). */
export function csrRequest(
  profile: string,
  csrPem: string,
  o: Omit<AttrOptions, "cn" | "dns" | "ip" | "keyAlgorithm"> = {},
): IssueCertificateRequest {
  return issueRequest({
    certificateProfile: profile,
    requestId: o.requestId ?? "",
    source: { $case: "csrPem", value: csrPem },
    keyUsages: o.keyUsages ?? [],
    ttl: o.ttlSeconds === undefined ? undefined : seconds(o.ttlSeconds),
    validateOnly: o.validateOnly ?? false,
  });
}

export const issue = (h: TestCertmint, req: IssueCertificateRequest) =>
  call(h.certificates, "issueCertificate", req);

export const getCert = (h: TestCertmint, ref: string) =>
  call(h.certificates, "getCertificate", { certificate: ref }).then((r) => r.certificate!);

export const requestStatus = (h: TestCertmint, id: string) =>
  call(h.certificates, "getRequestStatus", { certificateRequestId: id });

// ---- Access tokens --------------------------------------------------------------------------

/** An access token made by the admin, with clients that send it. */
export async function createToken(
  h: TestCertmint,
  slug: string,
  role: Role,
  profiles: string[] = [],
): Promise<{ id: string; slug: string; clients: CertmintClients }> {
  const res = await call(
    h.accessTokens,
    "createAccessToken",
    CreateAccessTokenRequest.fromPartial({
      accessToken: { slug, role, certificateProfiles: profiles },
    }),
  );
  return { id: res.accessToken!.id, slug, clients: h.clientsAs(res.secret) };
}

// ---- Rows -----------------------------------------------------------------------------------

export async function countRows(h: TestCertmint, table: string, where = "true"): Promise<number> {
  const [row] = await h.db.query<{ n: string }>(
    `select count(*) as n from ${table} where ${where}`,
  );
  return Number(row!.n);
}

/** How many certificate requests and certificates exist (to prove a call wrote nothing). */
export async function rowCounts(h: TestCertmint) {
  return {
    requests: await countRows(h, "certificate_request"),
    certificates: await countRows(h, "certificate"),
  };
}

// ---- CSRs and keys --------------------------------------------------------------------------

export type CsrKey = "rsa" | "p256" | "p384" | "ed25519";

const KEY_ARGS: Record<CsrKey, string[]> = {
  rsa: ["-newkey", "rsa:2048"],
  p256: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  p384: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
  ed25519: ["-newkey", "ed25519"],
};

/** A CSR made by openssl with a fresh key; `subject` like "/CN=api.example.com". */
export function makeCsr(
  tmp: TempDir,
  subject: string,
  sans: string[],
  key: CsrKey = "p256",
): { csrPem: string; keyPem: string } {
  const keyPath = tmp.out("csr.key");
  const csrPath = tmp.out("req.csr");
  opensslOk([
    "req",
    "-new",
    ...KEY_ARGS[key],
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    csrPath,
    "-subj",
    subject,
    ...(sans.length ? ["-addext", `subjectAltName=${sans.join(",")}`] : []),
  ]);
  return {
    csrPem: opensslOk(["req", "-in", csrPath]),
    keyPem: opensslOk(["pkey", "-in", keyPath]),
  };
}

/** A CSR for an existing key (PEM), e.g. to renew with the same key. */
export function csrForKey(tmp: TempDir, keyPem: string, subject: string, sans: string[]): string {
  return opensslOk([
    "req",
    "-new",
    "-key",
    tmp.file("k.pem", keyPem),
    "-subj",
    subject,
    ...(sans.length ? ["-addext", `subjectAltName=${sans.join(",")}`] : []),
  ]);
}

/** SubjectPublicKeyInfo DER of a certificate, a public key or a private key. */
export function spkiOf(x: string | KeyObject | X509Certificate): Buffer {
  let key: KeyObject;
  if (x instanceof X509Certificate) key = x.publicKey;
  else if (typeof x === "string")
    key = x.includes("CERTIFICATE") ? new X509Certificate(x).publicKey : createPublicKey(x);
  else key = x;
  return key.export({ type: "spki", format: "der" });
}

export const sha256Hex = (b: Buffer) => createHash("sha256").update(b).digest("hex");

// ---- Certificates ---------------------------------------------------------------------------

/** `openssl x509 -text -noout` of a PEM certificate. */
export const certText = (tmp: TempDir, pem: string) =>
  opensslOk(["x509", "-noout", "-text", "-in", tmp.file("c.pem", pem)]);

/**
 * `openssl verify -x509_strict` of `leaf` against the anchor, with optional extra arguments
 * (e.g. -purpose sslserver). Returns exit code and output; never throws.
 */
export function verifyLeaf(tmp: TempDir, anchorPem: string, leafPem: string, extra: string[] = []) {
  return openssl([
    "verify",
    "-x509_strict",
    ...extra,
    "-CAfile",
    tmp.file("anchor.pem", anchorPem),
    tmp.file("leaf.pem", leafPem),
  ]);
}

/** The subject key identifier of a certificate, as lower-case hex. */
export function skiOf(tmp: TempDir, pem: string): string {
  return normHex(extensionBlock(certText(tmp, pem), "X509v3 Subject Key Identifier").body);
}

/** The authority key identifier (keyid) of a certificate, as lower-case hex. */
export function akiOf(tmp: TempDir, pem: string): string {
  const body = extensionBlock(certText(tmp, pem), "X509v3 Authority Key Identifier").body;
  return normHex(body.split("\n")[0]!);
}

/** DER of a PEM certificate. */
export const derOf = (pem: string) => new X509Certificate(pem).raw;

/** Seconds between two dates (b - a). */
export const secondsBetween = (a: Date, b: Date) => (b.getTime() - a.getTime()) / 1000;

/** A compiled policy spec as certificate_policy.spec stores it. */
export { compilePolicy } from "../../src/issuance/policy-engine";
