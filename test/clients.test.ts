import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Client } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CertificateEventType,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../gen/ts/certmint/v1/certificate_service";
import { type CertmintClients, makeClients } from "./support/harness";
import { createTestDatabase, type TestDatabase } from "./support/postgres";
import { issueCertificateDueForRenewal, renewAutomatically } from "./support/renewal-due";
import {
  ROOT,
  type ServerProcess,
  START_LIMIT_MS,
  startServerProcess,
} from "./support/server-process";

const CLIENTS = join(ROOT, "test", "clients");
const TOOLS = join(ROOT, ".tools");

/**
 * The generated clients (gen/ts, gen/go, gen/python, gen/java) against one running server. Each
 * program prints one JSON object of what it saw.
 *
 * The scenario (test/clients/{go,python,java,ts}) is the same in every language, and every X.509
 * check uses that language's own crypto and X.509 library, never certmint's signer:
 *   1. a root CA and an intermediate CA under it, a TLS-server policy (preset TLS_SERVER, DNS
 *      names "**.example.com", any CN, max TTL 30 days) and a profile issuing from the
 *      intermediate, all with slugs "<prefix>-...";
 *   2. IssueCertificate with a CSR the client made with its own key;
 *   3. IssueCertificate with a key certmint generates, returned as PKCS #8;
 *   4. RenewCertificate of the first certificate (its key is reused by default);
 *   5. RevokeCertificate of the renewed one, reason KEY_COMPROMISE;
 *   6. the intermediate's CRL: signature checked, the revoked serial listed with its reason;
 *   7. the chain leaf -> intermediate -> root verified, the root being the certificate that
 *      CreateRootCertificateAuthority returned;
 *   8. with the admin token, an ISSUER access token "<prefix>-issuer" limited to the profile
 *      (CreateAccessToken); with its secret, on a second client: IssueCertificate succeeds and
 *      CreateCertificatePolicy is PERMISSION_DENIED (ROLE_NOT_ALLOWED); the admin token revokes
 *      it (RevokeAccessToken) and the next call made with it is UNAUTHENTICATED (TOKEN_REVOKED).
 * Every program reads the admin token from CERTMINT_TOKEN (never argv, which `ps` shows) and sends
 * `authorization: Bearer <token>` on every call the idiomatic way for its language: Go
 * PerRPCCredentials, Python a UnaryUnaryClientInterceptor, Java a ClientInterceptor
 * (MetadataUtils), TypeScript a grpc-js interceptor.
 * Go: crypto/x509 (CreateCertificateRequest, ParseRevocationList, Certificate.Verify).
 * Python: cryptography (CSR builder, load_der_x509_crl, x509.verification server verifier).
 * Java: JDK KeyPairGenerator, BouncyCastle CSR, CertificateFactory X509CRL, PKIX CertPathValidator.
 * TypeScript: Node crypto keys, `openssl req` CSR, `openssl crl`, X509Certificate checkIssued/verify.
 * The CA and leaf key algorithms differ per language (see expectedSummary's callers).
 */
function expectedSummary(language: string, prefix: string) {
  return {
    language,
    root_ca_status: "CERTIFICATE_AUTHORITY_STATUS_ACTIVE",
    intermediate_ca_status: "CERTIFICATE_AUTHORITY_STATUS_ACTIVE",
    // the intermediate's parent_certificate_authority_id is the root's id
    intermediate_parent_is_root: true,
    policy_max_ttl_seconds: 30 * 86_400,
    // the profile's certificate_authority comes back as the intermediate's id
    profile_issuer_is_intermediate: true,
    csr_issue_status: "CERTIFICATE_REQUEST_STATUS_ISSUED",
    // the certificate certifies the public key of the client's CSR
    csr_certificate_key_matches: true,
    csr_certificate_dns_names: [`${prefix}-api.example.com`],
    // IssuedCertificate.serial_number (hex) is the certificate's serial
    csr_serial_matches: true,
    // certificate_chain_pem is [intermediate, root] and issuing_ca_certificate_pem the
    // intermediate, byte for byte as the CA calls returned them
    issued_chain_matches_cas: true,
    generated_issue_status: "CERTIFICATE_REQUEST_STATUS_ISSUED",
    // private_key_pem is PKCS #8 and its public half is the certificate's key
    generated_key_matches: true,
    renew_status: "CERTIFICATE_REQUEST_STATUS_ISSUED",
    renewed_serial_differs: true,
    renewed_key_reused: true,
    revoke_status: "CERTIFICATE_STATUS_REVOKED",
    revocation_reason: "REVOCATION_REASON_KEY_COMPROMISE",
    // the CRL's signature verifies with the intermediate's public key
    crl_signature_valid: true,
    crl_revoked_serial_found: true,
    crl_revoked_reason_code: 1, // keyCompromise (RFC 5280 5.3.1)
    // the first certificate is on the CRL too: its renewal kept its key (a CSR's certificate
    // renews with the same key), and keyCompromise revokes every certificate of the lineage with
    // that key (since 2026-12-05; before, the first stayed valid)
    crl_original_serial_found: true,
    chain_verified: true,
    chain_length: 3,
    generated_chain_verified: true,
    // the same leaf, offered without its intermediate, does not verify to the root
    chain_rejected_without_intermediate: true,
    // CreateAccessToken: the issuer token as stored, its profiles returned as the profile's id,
    // and a bearer secret ("certmint_...") in the response
    issuer_token_role: "ROLE_ISSUER",
    issuer_token_state: "ACCESS_TOKEN_STATE_ACTIVE",
    issuer_token_profiles_match: true,
    issuer_token_secret_returned: true,
    // IssueCertificate sent with the issuer token, on its profile; the certificate verifies to
    // the root with the language's verifier
    issuer_issue_status: "CERTIFICATE_REQUEST_STATUS_ISSUED",
    issuer_certificate_verified: true,
    // CreateCertificatePolicy (admin only) sent with the issuer token
    issuer_admin_call_code: "PERMISSION_DENIED",
    issuer_admin_call_reason: "ROLE_NOT_ALLOWED",
    // RevokeAccessToken with the admin token, then IssueCertificate with the revoked token
    revoked_token_state: "ACCESS_TOKEN_STATE_REVOKED",
    revoked_token_call_code: "UNAUTHENTICATED",
    revoked_token_call_reason: "TOKEN_REVOKED",
  };
}

/** Runs a client program and parses the one JSON object it prints. */
function runJson(
  file: string,
  args: string[],
  options: { cwd?: string; env?: object; timeout: number },
) {
  const out = execFileSync(file, args, {
    cwd: options.cwd ?? ROOT,
    encoding: "utf8",
    timeout: options.timeout,
    env: { ...process.env, ...options.env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(out);
}

const venvPython = join(TOOLS, "venv", "bin", "python");
function requirePython(): string {
  if (!existsSync(venvPython)) throw new Error("no .tools/venv: run `make python-tools`");
  return venvPython;
}

const FAST_JVM = "-XX:TieredStopAtLevel=1";
const FAST_JVM_J = `-J${FAST_JVM}`;
const GO_ENV = { GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" };
const PYTHON_ENV = { PYTHONPATH: join(ROOT, "gen", "python") };

describe("generated clients in TypeScript, Go, Python and Java against one server", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  // The admin token for the client programs, in their environment: on the command line `ps`
  // would show it.
  const auth = () => ({ CERTMINT_TOKEN: server.adminToken() });

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("Go smoke: health SERVING, and an IssueCertificate error carries its ErrorInfo", () => {
    const out = runJson("go", ["run", ".", server.address, "smoke"], {
      cwd: join(CLIENTS, "go"),
      env: { ...GO_ENV, ...auth() },
      timeout: 240_000,
    });
    expect(out).toEqual({
      health: "SERVING",
      issue_code: "NotFound",
      issue_reason: "CERTIFICATE_PROFILE_NOT_FOUND",
      issue_domain: "certmint.dev",
    });
  }, 250_000);

  it("Python smoke: health SERVING, and a GetRequestStatus error carries its ErrorInfo", () => {
    const out = runJson(
      requirePython(),
      [join(CLIENTS, "python", "clienttest.py"), server.address, "smoke"],
      { env: { ...PYTHON_ENV, ...auth() }, timeout: 60_000 },
    );
    expect(out).toEqual({
      health_raw: "0801", // HealthCheckResponse{status: SERVING}
      code: "NOT_FOUND",
      reason: "CERTIFICATE_REQUEST_NOT_FOUND",
      domain: "certmint.dev",
    });
  });

  // Root P-256, intermediate P-256; CSR ECDSA P-256; generated key P-256.
  it("Go scenario: crypto/x509 CSR, CRL and chain verification", () => {
    const out = runJson("go", ["run", ".", server.address, "scenario", "go"], {
      cwd: join(CLIENTS, "go"),
      env: { ...GO_ENV, ...auth() },
      timeout: 240_000,
    });
    expect(out).toEqual(expectedSummary("go", "go"));
  }, 250_000);

  // Root P-384, intermediate P-256; CSR P-384 (SHA-384); generated key RSA-2048.
  it("Python scenario: cryptography CSR, CRL and x509.verification", () => {
    const out = runJson(
      requirePython(),
      [join(CLIENTS, "python", "clienttest.py"), server.address, "scenario", "py"],
      { env: { ...PYTHON_ENV, ...auth() }, timeout: 60_000 },
    );
    expect(out).toEqual(expectedSummary("python", "py"));
  });

  // Root RSA-2048, intermediate P-256; CSR RSA-2048 (BouncyCastle); generated key P-256.
  it("Java scenario: BouncyCastle CSR, X509CRL and PKIX CertPathValidator", () => {
    const jars = join(TOOLS, "java");
    if (!existsSync(join(jars, ".stamp"))) throw new Error("no .tools/java: run `make java-tools`");
    const classpath = `${javaClientClasses(jars)}:${jars}/*`;
    const args = [FAST_JVM, "-cp", classpath, "ClientTest", server.address, "scenario", "java"];
    const out = runJson("java", args, { env: auth(), timeout: 60_000 });
    expect(out).toEqual(expectedSummary("java", "java"));
  }, 200_000);

  // Root Ed25519, intermediate Ed25519; CSR P-256 (openssl req); generated key Ed25519.
  it("TypeScript scenario: openssl CSR and CRL, X509Certificate chain checks", () => {
    const out = runJson(
      process.execPath,
      // Compiled with the server (test/support/global-build.ts).
      [
        join(ROOT, "dist", "test", "clients", "ts", "clienttest.js"),
        server.address,
        "scenario",
        "ts",
      ],
      { env: auth(), timeout: 60_000 },
    );
    expect(out).toEqual(expectedSummary("ts", "ts"));
  });
});

/**
 * Issue 13, "Clients": each language's watch mode (test/clients/{go,python,java,ts}, `watch <id>
 * <CA PEM file> [<cursor>]`) opens WatchCertificates on one certificate's lineage, waits for the
 * RENEWED event the server's renewal timer causes (no client calls RenewCertificate), and
 * verifies the successor chains to the CA with its own verifier: Go crypto/x509 Verify, Python
 * cryptography's x509.verification, Java PKIX CertPathValidator, TypeScript X509Certificate
 * checkIssued/verify. All four watch the same certificate at once and must report the one
 * successor PostgreSQL holds.
 */
describe("the four clients watch one certificate that the server renews", {
  timeout: START_LIMIT_MS + 420_000,
}, () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let c: CertmintClients;
  const tmp = mkdtempSync(join(tmpdir(), "certmint-clientwatch-"));

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({
      DATABASE_URL: db.url,
      // The server generates the successor's key and keeps it for its owner.
      CERTMINT_KEK: randomBytes(32).toString("base64"),
      // The renewal timer looks for due certificates every 200 ms instead of every minute.
      CERTMINT_RENEWAL_TICK_MS: "200",
    });
    c = makeClients(server.address, server.adminToken());
  }, START_LIMIT_MS + 30_000);
  afterAll(async () => {
    for (const client of Object.values(c ?? {})) (client as Client).close();
    await server?.stop();
    await db?.drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("each receives the server's renewal and verifies the successor to the CA", async () => {
    // Built before the certificate exists, so that every watcher starts within seconds.
    const jars = join(TOOLS, "java");
    if (!existsSync(join(jars, ".stamp"))) throw new Error("no .tools/java: run `make java-tools`");
    const classpath = `${javaClientClasses(jars)}:${jars}/*`;
    const goClient = join(tmp, "clienttest-go");
    execFileSync("go", ["build", "-o", goClient, "."], {
      cwd: join(CLIENTS, "go"),
      env: { ...process.env, ...GO_ENV },
      timeout: 240_000,
    });
    const python = requirePython();

    // A certificate inside its renewal window, on a profile that renews automatically once the
    // watchers run.
    const { root, issued } = await issueCertificateDueForRenewal(c, {
      rootName: "Client Watch Root",
      name: "watched.example.com",
    });
    const original = issued.certificate!;

    // The watchers resume after the cursor of this watch's CURRENT event: one that starts late
    // on a loaded machine still receives the renewal, once (the cursor's promise).
    const first = c.certificates.watchCertificates(
      WatchCertificatesRequest.fromPartial({
        scope: { $case: "certificateId", value: original.certificateId },
      }),
    );
    const current = await new Promise<WatchCertificatesResponse>((resolve, reject) => {
      first.on("data", (e: WatchCertificatesResponse) => resolve(e));
      first.on("error", reject);
    });
    first.cancel();
    expect(current.type).toBe(CertificateEventType.CERTIFICATE_EVENT_TYPE_CURRENT);
    expect(current.certificate!.id).toBe(original.certificateId);
    const renewedBefore = await db.query<{ id: string }>(
      "select id from certificate where renewed_from_id = $1",
      [original.certificateId],
    );
    // Not renewed yet: the profile renews automatically only once the watchers run.
    expect(renewedBefore).toEqual([]);

    const caFile = join(tmp, "ca.pem");
    writeFileSync(caFile, root.certificatePem);
    const watchArgs = [server.address, "watch", original.certificateId, caFile, current.cursor];
    const env = { ...process.env, CERTMINT_TOKEN: server.adminToken() };
    const run = async (file: string, args: string[], extraEnv: object = {}) => {
      const { stdout } = await promisify(execFile)(file, args, {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 300_000,
        env: { ...env, ...extraEnv },
      });
      return JSON.parse(stdout);
    };
    const watchers = Promise.all([
      run(goClient, watchArgs),
      run(python, [join(CLIENTS, "python", "clienttest.py"), ...watchArgs], PYTHON_ENV),
      run("java", [FAST_JVM, "-cp", classpath, "ClientTest", ...watchArgs]),
      run(process.execPath, [
        join(ROOT, "dist", "test", "clients", "ts", "clienttest.js"),
        ...watchArgs,
      ]),
    ]);
    // Read by the await below; this keeps an early failure from counting as unhandled meanwhile.
    watchers.catch(() => undefined);
    // The profile starts renewing automatically: the certificate is due at once. A watcher
    // that connects after the renewal still receives it, from its cursor.
    await renewAutomatically(c);
    const outputs = await watchers;

    // The one successor certmint stored, and the link from the original to it.
    const successors = await db.query<{ id: string; serial_number: string }>(
      "select id, serial_number from certificate where renewed_from_id = $1",
      [original.certificateId],
    );
    expect(successors).toHaveLength(1);
    const link = await db.query<{ renewed_by_id: string }>(
      "select renewed_by_id from certificate where id = $1",
      [original.certificateId],
    );
    expect(link).toEqual([{ renewed_by_id: successors[0]!.id }]);
    expect(successors[0]!.serial_number).not.toBe(original.serialNumber);
    expect(outputs).toEqual(
      ["go", "python", "java", "ts"].map((language) => ({
        language,
        old_serial: original.serialNumber,
        new_serial: successors[0]!.serial_number,
        verified: true,
      })),
    );
  });
});

/**
 * The Java client's classes (gen/java and ClientTest.java), compiled once per content of its
 * sources and jars into dist/java-client/<hash>: javac was most of this file's time. Built under
 * a temporary name and renamed into place, so a run never sees a half-compiled directory.
 */
function javaClientClasses(jars: string): string {
  const sources = [
    ...javaSources(join(ROOT, "gen", "java")),
    join(CLIENTS, "java", "ClientTest.java"),
  ];
  const hash = createHash("sha256");
  for (const file of sources) hash.update(`${file}\0`).update(readFileSync(file));
  for (const jar of readdirSync(jars).sort()) hash.update(`${jar}\0`);
  const cache = join(ROOT, "dist", "java-client");
  const classes = join(cache, hash.digest("hex").slice(0, 16));
  if (existsSync(classes)) return classes;
  mkdirSync(cache, { recursive: true });
  const building = mkdtempSync(join(cache, "building-"));
  try {
    // C1 only (TieredStopAtLevel=1): about half the time for a one-shot javac or program.
    execFileSync(
      "javac",
      [FAST_JVM_J, "-nowarn", "-d", building, "-cp", `${building}:${jars}/*`, ...sources],
      { encoding: "utf8", timeout: 120_000 },
    );
    renameSync(building, classes);
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    // Another run renamed its identical build into place first.
    if (!existsSync(classes)) throw err;
  }
  return classes;
}

function javaSources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".java"))
    .map((f) => join(dir, f));
}
