import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, credentials, type ServiceError } from "@grpc/grpc-js";
import pino from "pino";
import { CertificateAuthorityServiceClient } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceClient } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceClient } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { BadRequest, ErrorInfo, PreconditionFailure } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { type RunningCertmint, startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { createTestDatabase, type TestDatabase } from "./postgres";

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
  stop(): Promise<void>;
}

export async function startTestCertmint(env: Record<string, string> = {}): Promise<TestCertmint> {
  const db = await createTestDatabase();
  const dataDir = env.CERTMINT_DATA_DIR ?? mkdtempSync(join(tmpdir(), "certmint-test-"));
  const config = loadConfig({
    CERTMINT_LISTEN: "127.0.0.1:0",
    DATABASE_URL: db.url,
    CERTMINT_DATA_DIR: dataDir,
    CERTMINT_SHUTDOWN_GRACE_MS: "2000",
    ...env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const running = await startCertmint(config, logger);
  const address = `127.0.0.1:${running.port}`;
  const creds = credentials.createInsecure();
  const clients = {
    certificates: new CertificateServiceClient(address, creds),
    authorities: new CertificateAuthorityServiceClient(address, creds),
    policies: new CertificatePolicyServiceClient(address, creds),
    profiles: new CertificateProfileServiceClient(address, creds),
  };
  return {
    address,
    db,
    dataDir,
    running,
    logs,
    ...clients,
    async stop() {
      for (const c of Object.values(clients)) (c as Client).close();
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
