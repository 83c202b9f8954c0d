/**
 * certmint as production runs it: the compiled server (`make build` -> dist/src/main.js) started
 * with `node`, on a PostgreSQL database given by DATABASE_URL, optionally pinned to one core
 * and serving TLS; then set up over its public gRPC API, as an operator would: a P-256 root, a
 * P-256 intermediate under it, a TLS-client policy, a profile "client" issuing from the
 * intermediate, and an ISSUER access token for that profile.
 *
 * Only the generated contract (gen/ts) is used, never certmint's internals: the benchmarks
 * measure the product, and keep working while its code changes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  credentials,
  InterceptingCall,
  type Interceptor,
} from "@grpc/grpc-js";
import {
  AccessToken,
  AccessTokenServiceClient,
  Role,
} from "../../gen/ts/certmint/v1/access_token_service";
import {
  CertificateAuthorityServiceClient,
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../gen/ts/certmint/v1/certificate_authority_service";
import {
  CertificatePolicyPreset,
  CertificatePolicyServiceClient,
  CreateCertificatePolicyRequest,
} from "../../gen/ts/certmint/v1/certificate_policy_service";
import {
  CertificateProfileServiceClient,
  CreateCertificateProfileRequest,
} from "../../gen/ts/certmint/v1/certificate_profile_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { ROOT } from "./tools";

export const CLIENT_PROFILE = "client";
/** The node flags `make run` and `npm start` give the server (see the Makefile's `run`). */
export const SERVER_NODE_FLAGS = ["--max-semi-space-size=4", "--heap-growing-percent=50"];
/** Names the client policy allows: the benchmark CSRs' svc-<i>.bench.example.com. */
const ALLOWED_DNS = "**.bench.example.com";
/** Lifetime of the issued certificates, the same for every server compared (bench/peers). */
export const CERTIFICATE_TTL_SECONDS = 24 * 3600;

export interface CertmintServer {
  pid: number;
  /** host:port of the gRPC port. */
  address: string;
  /** Credentials for a client of this server (TLS with the bench CA, or plaintext). */
  credentials: ChannelCredentials;
  /**
   * Channel options for a client: over TLS, the name checked is "localhost" (the certificate
   * has it too), since TLS SNI cannot carry an IP address (RFC 6066 3).
   */
  channelOptions: ChannelOptions;
  adminToken: string;
  logFile: string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

export interface StartCertmintOptions {
  databaseUrl: string;
  /** A directory of the run: data/ (key-encryption key, admin token) and server.log go here. */
  dir: string;
  /** Pin the server (and its worker threads) to this core. */
  cpu?: number;
  /** Serve TLS with this certificate and key; `ca` is what clients trust. */
  tls?: { cert: string; key: string; ca: string };
  env?: Record<string, string>;
  /** Flags for node before the script (--cpu-prof is refused in NODE_OPTIONS). */
  nodeFlags?: string[];
}

export async function startCertmint(opts: StartCertmintOptions): Promise<CertmintServer> {
  const main = join(ROOT, "dist", "src", "main.js");
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`make build\``);
  const logFile = join(opts.dir, "certmint.log");
  const fd = openSync(logFile, "w");
  const node = [process.execPath, ...SERVER_NODE_FLAGS, ...(opts.nodeFlags ?? []), main];
  const [cmd, ...args] =
    opts.cpu === undefined ? node : ["taskset", "-c", String(opts.cpu), ...node];
  const child: ChildProcess = spawn(cmd!, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      CERTMINT_DATA_DIR: join(opts.dir, "data"),
      CERTMINT_LISTEN: "127.0.0.1:0",
      // One issuer token carries the whole load: the per-token default of 1,000 calls/s (a
      // policy, RESOURCE_EXHAUSTED past it) would cap the figure, not the server.
      CERTMINT_RATE_LIMIT_PER_SECOND: "1000000",
      // The same for the rows one token's lists may be served (bench/scale and bench/memory
      // page through 10^5-10^6 rows as fast as they come).
      CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "0",
      // The start is recognised by its info lines (below): a CERTMINT_LOG_LEVEL of warn in the
      // caller's environment would hide them.
      CERTMINT_LOG_LEVEL: "info",
      ...(opts.tls
        ? { CERTMINT_TLS_CERT_FILE: opts.tls.cert, CERTMINT_TLS_KEY_FILE: opts.tls.key }
        : {}),
      ...opts.env,
    },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.on("exit", () => {
      gone = true;
      resolve();
    }),
  );
  // Ready once the log says "serving" (after migrations), as the test harness waits.
  const deadline = Date.now() + 120_000;
  let address = "";
  for (;;) {
    const log = readFileSync(logFile, "utf8");
    const listening = /"address":"([^"]+)","msg":"listening"/.exec(log);
    if (listening && log.includes('"msg":"serving"')) {
      address = listening[1]!;
      break;
    }
    if (gone || Date.now() > deadline) {
      // A server that never said it serves (a timeout, or CERTMINT_LOG_LEVEL above info hiding
      // the lines this waits for) is stopped, not left running behind the failed run.
      if (!gone) child.kill("SIGKILL");
      throw new Error(`certmint did not start (${gone ? "exited" : "timeout"}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  process.once("exit", () => child.kill("SIGKILL"));
  return {
    pid: child.pid!,
    address,
    credentials: opts.tls
      ? credentials.createSsl(readFileSync(opts.tls.ca))
      : credentials.createInsecure(),
    channelOptions: opts.tls ? { "grpc.ssl_target_name_override": "localhost" } : {},
    adminToken: readFileSync(join(opts.dir, "data", "admin-token"), "utf8").trim(),
    logFile,
    stop,
  };
}

/** Adds `authorization: Bearer <token>` to every call. */
export function bearer(token: string): Interceptor {
  return (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        metadata.set("authorization", `Bearer ${token}`);
        nextStart(metadata, listener);
      },
    });
}

type Callback<Res> = (err: Error | null, res: Res) => void;
// ts-proto clients overload each method; inference sees the last overload:
// (request, metadata, options, callback). (test/support/harness.ts has the same helper, but
// importing it would load certmint's server code into the load generator.)
type ReqOf<F> = F extends (req: infer Req, md: never, opts: never, cb: never) => unknown
  ? Req
  : never;
type ResOf<F> = F extends (req: never, md: never, opts: never, cb: Callback<infer Res>) => unknown
  ? Res
  : never;

/** One unary call as a promise: `call(client, "getCertificate", request)`. */
export function call<C extends Client, M extends keyof C>(
  client: C,
  method: M,
  request: ReqOf<C[M]>,
): Promise<ResOf<C[M]>> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as (req: unknown, cb: Callback<unknown>) => unknown;
    fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res as ResOf<C[M]>)));
  });
}

export interface ClientProfile {
  /** The intermediate CA the profile issues from. */
  caId: string;
  /** Secret of the ISSUER token for the profile, as a backend would hold. */
  issuerToken: string;
}

/**
 * The CA hierarchy, policy, profile and issuer token, over gRPC with the admin token; the
 * profile issues certificates for `ttlSeconds`.
 */
export async function createClientProfile(
  server: CertmintServer,
  ttlSeconds = CERTIFICATE_TTL_SECONDS,
): Promise<ClientProfile> {
  const options = { ...server.channelOptions, interceptors: [bearer(server.adminToken)] };
  const creds = server.credentials;
  const authorities = new CertificateAuthorityServiceClient(server.address, creds, options);
  const policies = new CertificatePolicyServiceClient(server.address, creds, options);
  const profiles = new CertificateProfileServiceClient(server.address, creds, options);
  const tokens = new AccessTokenServiceClient(server.address, creds, options);
  try {
    await call(
      authorities,
      "createRootCertificateAuthority",
      CreateRootCertificateAuthorityRequest.fromPartial({
        slug: "bench-root",
        subject: { commonName: "Bench Root" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
        maxPathLength: 1,
      }),
    );
    const issuing = await call(
      authorities,
      "createIntermediateCertificateAuthority",
      CreateIntermediateCertificateAuthorityRequest.fromPartial({
        slug: "bench-issuing",
        parentCertificateAuthority: "bench-root",
        subject: { commonName: "Bench Issuing CA" },
        keyAlgorithm: KeyAlgorithm.KEY_ALGORITHM_EC_P256,
      }),
    );
    await call(
      policies,
      "createCertificatePolicy",
      CreateCertificatePolicyRequest.fromPartial({
        preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
        certificatePolicy: {
          slug: "bench-client",
          sanRules: { dns: { allowed: [ALLOWED_DNS] } },
          subjectRules: { commonName: { allowed: ["*"] } },
          maxTtl: { seconds: String(ttlSeconds), nanos: 0 },
        },
      }),
    );
    await call(
      profiles,
      "createCertificateProfile",
      CreateCertificateProfileRequest.fromPartial({
        certificateProfile: {
          slug: CLIENT_PROFILE,
          certificatePolicy: "bench-client",
          issuer: { $case: "certificateAuthority", value: "bench-issuing" },
          defaults: { ttl: { seconds: String(ttlSeconds), nanos: 0 } },
        },
      }),
    );
    const issuer = await call(tokens, "createAccessToken", {
      accessToken: AccessToken.fromPartial({
        slug: "bench-issuer",
        role: Role.ROLE_ISSUER,
        certificateProfiles: [CLIENT_PROFILE],
      }),
    });
    return { caId: issuing.certificateAuthority!.id, issuerToken: issuer.secret };
  } finally {
    for (const c of [authorities, policies, profiles, tokens]) c.close();
  }
}
