import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Client,
  type ClientOptions,
  credentials,
  InterceptingCall,
  type Interceptor,
  type ServiceError,
} from "@grpc/grpc-js";
import pino from "pino";
import { AccessTokenServiceClient } from "../../gen/ts/certmint/v1/access_token_service";
import { AuditServiceClient } from "../../gen/ts/certmint/v1/audit_service";
import { CertificateAuthorityServiceClient } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceClient } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceClient } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import {
  BadRequest,
  ErrorInfo,
  PreconditionFailure,
  RetryInfo,
} from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { type RunningCertmint, type StartOptions, startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { loggerOptions } from "../../src/server/logger";
import { createTestDatabase, type TestDatabase } from "./postgres";

/**
 * A new file in the run's log directory (test/support/global-log-scan.ts) for one server's
 * log; undefined when vitest runs without that setup.
 */
export function testLogFile(kind: string): string | undefined {
  const dir = process.env.CERTMINT_TEST_LOG_DIR;
  if (!dir) return undefined;
  logFiles += 1;
  return join(dir, `${kind}-${process.pid}-${logFiles}-${Date.now()}.log`);
}
let logFiles = 0;

/** A certmint running in this process on a fresh PostgreSQL database, with typed clients. */
export interface TestCertmint {
  address: string;
  db: TestDatabase;
  dataDir: string;
  running: RunningCertmint;
  /** Every JSON log line the server wrote. */
  logs: Array<Record<string, unknown>>;
  certificates: CertificateServiceClient;
  authorities: CertificateAuthorityServiceClient;
  policies: CertificatePolicyServiceClient;
  profiles: CertificateProfileServiceClient;
  accessTokens: AccessTokenServiceClient;
  audit: AuditServiceClient;
  /** The first admin token the server wrote to <dataDir>/admin-token; the clients above send it. */
  adminToken: string;
  /** The same clients, sending another credential (or none, with undefined). */
  clientsAs(token: string | undefined): CertmintClients;
  stop(): Promise<void>;
}

export interface CertmintClients {
  certificates: CertificateServiceClient;
  authorities: CertificateAuthorityServiceClient;
  policies: CertificatePolicyServiceClient;
  profiles: CertificateProfileServiceClient;
  accessTokens: AccessTokenServiceClient;
  audit: AuditServiceClient;
}

/** A client interceptor that sends `authorization: Bearer <token>` on every call. */
export function bearer(token: string): Interceptor {
  return (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        metadata.set("authorization", `Bearer ${token}`);
        nextStart(metadata, listener);
      },
    });
}

/** Typed clients of every certmint service on one address, with an optional bearer token. */
export function makeClients(
  address: string,
  token: string | undefined,
  creds = credentials.createInsecure(),
): CertmintClients {
  const options: Partial<ClientOptions> = token ? { interceptors: [bearer(token)] } : {};
  return {
    certificates: new CertificateServiceClient(address, creds, options),
    authorities: new CertificateAuthorityServiceClient(address, creds, options),
    policies: new CertificatePolicyServiceClient(address, creds, options),
    profiles: new CertificateProfileServiceClient(address, creds, options),
    accessTokens: new AccessTokenServiceClient(address, creds, options),
    audit: new AuditServiceClient(address, creds, options),
  };
}

/** How a test server is started besides its environment. */
export interface TestStartOptions extends StartOptions {
  /** Reach PostgreSQL through this local port (a proxy the test controls) instead. */
  databasePort?: number;
}

export async function startTestCertmint(
  env: Record<string, string> = {},
  options: TestStartOptions = {},
): Promise<TestCertmint> {
  // Already migrated (a clone of the template database): the server applies no migration.
  const db = await createTestDatabase({ migrated: true });
  const serverUrl = new URL(db.url);
  if (options.databasePort !== undefined) {
    serverUrl.hostname = "127.0.0.1";
    serverUrl.port = String(options.databasePort);
  }
  const dataDir = env.CERTMINT_DATA_DIR ?? mkdtempSync(join(tmpdir(), "certmint-test-"));
  const config = loadConfig({
    CERTMINT_LISTEN: "127.0.0.1:0",
    DATABASE_URL: serverUrl.toString(),
    CERTMINT_DATA_DIR: dataDir,
    CERTMINT_SHUTDOWN_GRACE_MS: "2000",
    ...env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const logFile = testLogFile("in-process");
  // The server's own logger options (serializers, redaction), writing into `logs`.
  const logger = pino(loggerOptions("info"), {
    write: (line: string) => {
      logs.push(JSON.parse(line));
      if (logFile) appendFileSync(logFile, line);
    },
  });
  const running = await startCertmint(config, logger, options);
  const address = `127.0.0.1:${running.port}`;
  const adminToken = readFileSync(config.adminTokenFile, "utf8").trim();
  const clients = makeClients(address, adminToken);
  const extra: CertmintClients[] = [];
  return {
    address,
    db,
    dataDir,
    running,
    logs,
    ...clients,
    adminToken,
    clientsAs(token) {
      const made = makeClients(address, token);
      extra.push(made);
      return made;
    },
    async stop() {
      for (const set of [clients, ...extra])
        for (const c of Object.values(set)) (c as Client).close();
      await running.shutdown();
      await db.drop();
    },
  };
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;
// ts-proto clients overload each method; inference sees the last overload:
// (request, metadata, options, callback).
type ReqOf<F> = F extends (req: infer Req, md: never, opts: never, cb: never) => unknown
  ? Req
  : never;
type ResOf<F> = F extends (req: never, md: never, opts: never, cb: Callback<infer Res>) => unknown
  ? Res
  : never;

/**
 * Calls a unary method of a ts-proto grpc-js client as a promise:
 * `await call(h.authorities, "getCertificateAuthority", { certificateAuthority: "root" })`.
 */
export function call<C extends object, M extends keyof C>(
  client: C,
  method: M,
  request: ReqOf<C[M]>,
): Promise<ResOf<C[M]>> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as (req: unknown, cb: Callback<unknown>) => unknown;
    fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res as ResOf<C[M]>)));
  });
}

/** What a failed call carried: code, message and the decoded google.rpc details. */
export interface DecodedError {
  code: number;
  message: string;
  reason?: string;
  violations: Array<{ field: string; description: string; reason: string }>;
  preconditions: Array<{ type: string; subject: string; description: string }>;
  /** RetryInfo's delay, in seconds, when the error carried one. */
  retryDelaySeconds?: number;
}

export function decodeError(err: unknown): DecodedError {
  const e = err as ServiceError;
  const out: DecodedError = { code: e.code, message: e.details, violations: [], preconditions: [] };
  const raw = e.metadata?.get("grpc-status-details-bin")[0];
  if (!raw) return out;
  for (const d of Status.decode(raw as Buffer).details) {
    const type = d.typeUrl.split(".").at(-1);
    if (type === "ErrorInfo") out.reason = ErrorInfo.decode(d.value).reason;
    if (type === "BadRequest") out.violations = BadRequest.decode(d.value).fieldViolations;
    if (type === "PreconditionFailure")
      out.preconditions = PreconditionFailure.decode(d.value).violations;
    if (type === "RetryInfo") {
      const delay = RetryInfo.decode(d.value).retryDelay;
      out.retryDelaySeconds = Number(delay?.seconds ?? 0) + (delay?.nanos ?? 0) / 1e9;
    }
  }
  return out;
}

/** Awaits a call expected to fail and returns its decoded error (fails the test if it succeeds). */
export async function expectRpcError(promise: Promise<unknown>): Promise<DecodedError> {
  try {
    await promise;
  } catch (err) {
    return decodeError(err);
  }
  throw new Error("expected the call to fail, but it succeeded");
}
