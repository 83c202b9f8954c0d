/**
 * The client scenario with the generated TypeScript client (gen/ts) against a running certmint;
 * prints one JSON object that test/clients.test.ts asserts on. X.509 checks use Node's crypto
 * and openssl (./x509.ts), not certmint's signer.
 *
 * Usage: CERTMINT_TOKEN=<admin token> node dist/test/clients/ts/clienttest.js (compiled by `make build`)
 * <host:port> scenario <prefix> (the token, sent as `authorization: Bearer <token>` on every call,
 * comes from the environment, never the command line, where ps shows it), or
 * <host:port> watch <certificate id> <CA PEM file> [<after cursor>] (./watch.ts)
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  X509Certificate,
} from "node:crypto";
import {
  type CallOptions,
  type ClientOptions,
  type ClientUnaryCall,
  credentials,
  InterceptingCall,
  type Interceptor,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import {
  AccessTokenServiceClient,
  accessTokenStateToJSON,
  CreateAccessTokenRequest,
  RevokeAccessTokenRequest,
  Role,
  roleToJSON,
} from "../../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateAuthorityServiceClient,
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
  certificateAuthorityStatusToJSON,
  GetCertificateRevocationListRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CertificatePolicyServiceClient,
  CreateCertificatePolicyRequest,
} from "../../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfileServiceClient,
  CreateCertificateProfileRequest,
} from "../../../gen/ts/certmint/v1/certificate_profile_service";
import {
  CertificateServiceClient,
  certificateRequestStatusToJSON,
  certificateStatusToJSON,
  IssueCertificateRequest,
  RenewCertificateRequest,
  RevokeCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import {
  KeyAlgorithm,
  RevocationReason,
  revocationReasonToJSON,
} from "../../../gen/ts/certmint/v1/common";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
} from "../../../gen/ts/google/rpc/error_details";
import { Status } from "../../../gen/ts/google/rpc/status";
import { watchRenewal } from "./watch";
import { normalizeSerial, opensslCrl, opensslCsr, verifyChain } from "./x509";

const DAY = 86_400;

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => ClientUnaryCall;

/** One unary call as a promise, with a 30 s deadline. Pass the method bound to its client. */
function call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline: Date.now() + 30_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** A client interceptor that sends `authorization: Bearer <token>` on every call. */
function bearer(token: string): Interceptor {
  return (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        metadata.set("authorization", `Bearer ${token}`);
        nextStart(metadata, listener);
      },
    });
}

/** Client options whose calls carry the access token. */
const withToken = (token: string): Partial<ClientOptions> => ({ interceptors: [bearer(token)] });

/** The ErrorInfo reason among a failed call's google.rpc details, or "". */
function errorReason(err: ServiceError): string {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  for (const d of raw ? Status.decode(raw as Buffer).details : []) {
    if (d.typeUrl.endsWith("/google.rpc.ErrorInfo")) return ErrorInfo.decode(d.value).reason;
  }
  return "";
}

/** Awaits a call expected to fail: its status code name and ErrorInfo reason ("OK", "" if not). */
async function callError(promise: Promise<unknown>): Promise<{ code: string; reason: string }> {
  try {
    await promise;
    return { code: "OK", reason: "" };
  } catch (err) {
    const e = err as ServiceError;
    if (typeof e.code !== "number") throw err;
    return { code: status[e.code], reason: errorReason(e) };
  }
}

/** SubjectPublicKeyInfo DER of a public key, or of a private key's public half. */
const spki = (key: KeyObject) =>
  (key.type === "private" ? createPublicKey(key) : key).export({ type: "spki", format: "der" });

async function scenario(
  address: string,
  adminToken: string,
  prefix: string,
): Promise<Record<string, unknown>> {
  const creds = credentials.createInsecure();
  const admin = withToken(adminToken);
  const cas = new CertificateAuthorityServiceClient(address, creds, admin);
  const policies = new CertificatePolicyServiceClient(address, creds, admin);
  const profiles = new CertificateProfileServiceClient(address, creds, admin);
  const certs = new CertificateServiceClient(address, creds, admin);
  const tokens = new AccessTokenServiceClient(address, creds, admin);
  const clients: Array<{ close(): void }> = [cas, policies, profiles, certs, tokens];
  const out: Record<string, unknown> = { language: "ts" };
  try {
    // 1. Root and intermediate CA (both Ed25519), a TLS-server policy, a profile on the
    //    intermediate.
    const { certificateAuthority: root } = await call(
      cas.createRootCertificateAuthority.bind(cas),
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: `${prefix}-root`,
        subject: { commonName: `${prefix} client test root`, organization: ["certmint"] },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
      }),
    );
    out.root_ca_status = certificateAuthorityStatusToJSON(root!.status);

    const { certificateAuthority: inter } = await call(
      cas.createIntermediateCertificateAuthority.bind(cas),
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: `${prefix}-intermediate`,
        parentCertificateAuthority: root!.slug,
        subject: { commonName: `${prefix} client test intermediate`, organization: ["certmint"] },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
      }),
    );
    out.intermediate_ca_status = certificateAuthorityStatusToJSON(inter!.status);
    out.intermediate_parent_is_root = inter!.parentCertificateAuthorityId === root!.id;

    const { certificatePolicy: policy } = await call(
      policies.createCertificatePolicy.bind(policies),
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
        certificatePolicy: {
          slug: `${prefix}-tls-server`,
          subjectRules: { commonName: { allowed: ["*"] } },
          sanRules: { dns: { allowed: ["**.example.com"] } },
          maxTtl: { seconds: String(30 * DAY), nanos: 0 },
        },
      }),
    );
    out.policy_max_ttl_seconds = Number(policy!.maxTtl?.seconds);

    const { certificateProfile: profile } = await call(
      profiles.createCertificateProfile.bind(profiles),
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: `${prefix}-web`,
          certificatePolicy: policy!.id,
          issuer: { $case: "certificateAuthority", value: inter!.slug },
          defaults: {
            ttl: { seconds: String(7 * DAY), nanos: 0 },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
          },
        },
      }),
    );
    out.profile_issuer_is_intermediate =
      profile!.issuer?.$case === "certificateAuthority" && profile!.issuer.value === inter!.id;

    const rootCert = new X509Certificate(root!.certificatePem);
    const interCert = new X509Certificate(inter!.certificatePem);

    // 2. Issue from a CSR: P-256 key from Node's crypto, PKCS #10 request from `openssl req`.
    const name = `${prefix}-api.example.com`;
    const key = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const issued = await call(
      certs.issueCertificate.bind(certs),
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile!.slug,
        requestId: `${prefix}-csr-1`,
        source: { $case: "csrPem", value: opensslCsr(key.privateKey, name) },
      }),
    );
    out.csr_issue_status = certificateRequestStatusToJSON(issued.status);
    const leaf = new X509Certificate(issued.certificate!.certificatePem);
    out.csr_certificate_key_matches = spki(leaf.publicKey).equals(spki(key.publicKey));
    out.csr_certificate_dns_names = (leaf.subjectAltName ?? "")
      .split(", ")
      .filter((san) => san.startsWith("DNS:"))
      .map((san) => san.slice(4));
    out.csr_serial_matches =
      normalizeSerial(issued.certificate!.serialNumber) === normalizeSerial(leaf.serialNumber);
    const chain = issued.certificate!.certificateChainPem.map((p) => new X509Certificate(p).raw);
    out.issued_chain_matches_cas =
      chain.length === 2 &&
      chain[0]!.equals(interCert.raw) &&
      chain[1]!.equals(rootCert.raw) &&
      new X509Certificate(issued.certificate!.issuingCaCertificatePem).raw.equals(interCert.raw);

    // 3. Issue with a key certmint generates (Ed25519); the PKCS #8 key must match the certificate.
    const worker = `${prefix}-worker.example.com`;
    const generated = await call(
      certs.issueCertificate.bind(certs),
      IssueCertificateRequest.fromPartial({
        certificateProfile: profile!.slug,
        requestId: `${prefix}-generated-1`,
        source: {
          $case: "attributes",
          value: {
            subject: { commonName: worker },
            subjectAlternativeNames: { dnsNames: [worker] },
            keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_ED25519,
          },
        },
      }),
    );
    out.generated_issue_status = certificateRequestStatusToJSON(generated.status);
    const genLeaf = new X509Certificate(generated.certificate!.certificatePem);
    out.generated_key_matches =
      generated.privateKeyPem.startsWith("-----BEGIN PRIVATE KEY-----") &&
      spki(createPrivateKey(generated.privateKeyPem)).equals(spki(genLeaf.publicKey));

    // 4. Renew the CSR certificate (a CSR certificate's renewal reuses its key by default).
    const renewed = await call(
      certs.renewCertificate.bind(certs),
      RenewCertificateRequest.fromPartial({
        certificateId: issued.certificate!.certificateId,
        requestId: `${prefix}-renew-1`,
      }),
    );
    out.renew_status = certificateRequestStatusToJSON(renewed.status);
    const renewedLeaf = new X509Certificate(renewed.certificate!.certificatePem);
    out.renewed_serial_differs =
      normalizeSerial(renewedLeaf.serialNumber) !== normalizeSerial(leaf.serialNumber);
    out.renewed_key_reused = spki(renewedLeaf.publicKey).equals(spki(key.publicKey));

    // 5. Revoke the renewed certificate.
    const { certificate: revoked } = await call(
      certs.revokeCertificate.bind(certs),
      RevokeCertificateRequest.fromPartial({
        certificate: renewed.certificate!.certificateId,
        reason: RevocationReason.REVOCATION_REASON_KEY_COMPROMISE,
      }),
    );
    out.revoke_status = certificateStatusToJSON(revoked!.status);
    out.revocation_reason = revocationReasonToJSON(revoked!.revocationReason);

    // 6. The intermediate's CRL, read and its signature checked by openssl.
    const crlRes = await call(
      cas.getCertificateRevocationList.bind(cas),
      GetCertificateRevocationListRequest.fromPartial({ certificateAuthority: inter!.id }),
    );
    const crl = opensslCrl(crlRes.crlDer, inter!.certificatePem);
    const revokedSerial = normalizeSerial(renewedLeaf.serialNumber);
    out.crl_signature_valid = crl.signatureValid;
    out.crl_revoked_serial_found = crl.entries.has(revokedSerial);
    if (crl.entries.has(revokedSerial))
      out.crl_revoked_reason_code = crl.entries.get(revokedSerial);
    out.crl_original_serial_found = crl.entries.has(normalizeSerial(leaf.serialNumber));

    // 7. Verify leaf -> intermediate -> root with Node's X509Certificate, the root taken from
    //    CreateRootCertificateAuthority.
    const verified = verifyChain(leaf, [interCert], rootCert, name);
    out.chain_verified = verified.ok;
    if (verified.ok) out.chain_length = verified.length;
    const genVerified = verifyChain(genLeaf, [interCert], rootCert, worker);
    out.generated_chain_verified = genVerified.ok;
    out.chain_rejected_without_intermediate = !verifyChain(leaf, [], rootCert, name).ok;

    // 8. An issuer token limited to the profile, made with the admin token.
    const created = await call(
      tokens.createAccessToken.bind(tokens),
      CreateAccessTokenRequest.fromPartial({
        accessToken: {
          slug: `${prefix}-issuer`,
          description: "ts client test issuer",
          role: Role.ROLE_ISSUER,
          certificateProfiles: [profile!.slug],
        },
        ttl: { seconds: "3600", nanos: 0 },
      }),
    );
    const token = created.accessToken!;
    out.issuer_token_role = roleToJSON(token.role);
    out.issuer_token_state = accessTokenStateToJSON(token.state);
    out.issuer_token_profiles_match =
      token.certificateProfiles.length === 1 && token.certificateProfiles[0] === profile!.id;
    out.issuer_token_secret_returned = created.secret.startsWith("certmint_");

    const issuer = withToken(created.secret);
    const issuerCerts = new CertificateServiceClient(address, creds, issuer);
    const issuerPolicies = new CertificatePolicyServiceClient(address, creds, issuer);
    clients.push(issuerCerts, issuerPolicies);
    const service = `${prefix}-service.example.com`;
    const issueAsIssuer = (requestId: string) =>
      call(
        issuerCerts.issueCertificate.bind(issuerCerts),
        IssueCertificateRequest.fromPartial({
          certificateProfile: profile!.slug,
          requestId,
          source: {
            $case: "attributes",
            value: {
              subject: { commonName: service },
              subjectAlternativeNames: { dnsNames: [service] },
              keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
            },
          },
        }),
      );

    //    It issues on its profile...
    const byIssuer = await issueAsIssuer(`${prefix}-issuer-1`);
    out.issuer_issue_status = certificateRequestStatusToJSON(byIssuer.status);
    const issuerLeaf = new X509Certificate(byIssuer.certificate!.certificatePem);
    const issuerVerified = verifyChain(issuerLeaf, [interCert], rootCert, service);
    out.issuer_certificate_verified = issuerVerified.ok;

    //    ...but may not call an admin RPC.
    const denied = await callError(
      call(
        issuerPolicies.createCertificatePolicy.bind(issuerPolicies),
        CreateCertificatePolicyRequest.fromPartial({
          preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
          certificatePolicy: {
            slug: `${prefix}-issuer-policy`,
            maxTtl: { seconds: String(DAY), nanos: 0 },
          },
        }),
      ),
    );
    out.issuer_admin_call_code = denied.code;
    out.issuer_admin_call_reason = denied.reason;

    //    Revoked with the admin token, it authenticates nothing any more.
    const { accessToken: revokedToken } = await call(
      tokens.revokeAccessToken.bind(tokens),
      RevokeAccessTokenRequest.fromPartial({ accessToken: token.id }),
    );
    out.revoked_token_state = accessTokenStateToJSON(revokedToken!.state);
    const afterRevoke = await callError(issueAsIssuer(`${prefix}-issuer-2`));
    out.revoked_token_call_code = afterRevoke.code;
    out.revoked_token_call_reason = afterRevoke.reason;

    const errors = [
      verified.error,
      genVerified.error,
      issuerVerified.error && `issuer token: ${issuerVerified.error}`,
    ].filter(Boolean);
    if (errors.length > 0) out.chain_error = errors.join("; ");
    return out;
  } finally {
    for (const client of clients) client.close();
  }
}

/** Prints a failed call's code, message and google.rpc details to stderr. */
function reportError(err: unknown): void {
  const e = err as ServiceError;
  console.error(`clienttest: ${e.code ?? ""} ${e.details ?? e.message ?? String(err)}`);
  const raw = e.metadata?.get("grpc-status-details-bin")[0];
  if (raw) {
    const decoders = { ErrorInfo, BadRequest, PreconditionFailure };
    for (const d of Status.decode(raw as Buffer).details) {
      const type = d.typeUrl.split(".").at(-1) as keyof typeof decoders;
      const decoder = decoders[type];
      const shown = decoder ? JSON.stringify(decoder.toJSON(decoder.decode(d.value) as never)) : "";
      console.error(`  detail: ${d.typeUrl} ${shown}`);
    }
  }
  if (e.stack) console.error(e.stack);
}

const [address, mode, ...args] = process.argv.slice(2);
const scenarioArgs = mode === "scenario" && args.length === 1;
const watchArgs = mode === "watch" && (args.length === 2 || args.length === 3);
if (!address || !(scenarioArgs || watchArgs)) {
  console.error(
    "usage: clienttest.ts <host:port> scenario <prefix> | <host:port> watch <certificate id> <CA PEM file> [<after cursor>]",
  );
  process.exit(2);
}
const adminToken = process.env.CERTMINT_TOKEN;
if (!adminToken) {
  console.error("clienttest: set CERTMINT_TOKEN to an admin access token");
  process.exit(2);
}
/** The watch on its own client, closed when it is done. */
async function watch(): Promise<Record<string, unknown>> {
  const certs = new CertificateServiceClient(
    address!,
    credentials.createInsecure(),
    withToken(adminToken!),
  );
  try {
    return await watchRenewal(certs, args[0]!, args[1]!, args[2] ?? "");
  } finally {
    certs.close();
  }
}
(watchArgs ? watch() : scenario(address, adminToken, args[0]!)).then(
  (out) => console.log(JSON.stringify(out)),
  (err) => {
    reportError(err);
    process.exit(1);
  },
);
