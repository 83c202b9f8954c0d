/**
 * What the CLIENTS probe's tests share: the compiled server over TLS with an optional client
 * certificate (mTLS), a tiny list-row budget (so a client meets RESOURCE_EXHAUSTED with a
 * RetryInfo by listing), a root CA, a TLS-server policy and a profile, and the files and
 * environment a client program in any language needs. Black-box: nothing of src/ is imported.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect } from "vitest";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";
import { type CertmintClients, makeClients } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { DUE_PROFILE, issueCertificateDueForRenewal } from "../../support/renewal-due";
import { ROOT, START_LIMIT_MS } from "../../support/server-process";
import { waitFor } from "../../support/wait";
import { makeCa, makeLeaf } from "../../tls/pki";

export interface LiveTls {
  live: ServerOnDatabase;
  admin: CertmintClients;
  /** The environment of a client program: address, CA, client pair, token, profile. */
  env(name: string): Record<string, string>;
  /** The server's log lines (JSON) so far. */
  logLines(): Record<string, unknown>[];
  /** The client certificate's common name, which the server logs as the mTLS peer. */
  clientCommonName: string;
  stop(): Promise<void>;
}

export async function startLiveTls(prefix: string): Promise<LiveTls> {
  const dir = new TempDir();
  const serverCa = makeCa(dir, "adopter server CA");
  const serverLeaf = makeLeaf(dir, serverCa, "certmint", "server");
  const clientCa = makeCa(dir, "adopter client CA");
  const clientCommonName = "adopter-workload";
  const clientLeaf = makeLeaf(dir, clientCa, clientCommonName, "client");
  const live = await startOnFreshDatabase(
    {
      CERTMINT_TLS_CERT_FILE: serverLeaf.certFile,
      CERTMINT_TLS_KEY_FILE: serverLeaf.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: dir.file("client-cas.pem", clientCa.certPem),
      // One row a second, one at once: a client's second one-row page is refused.
      CERTMINT_LIST_ROWS_PER_TOKEN_PER_SECOND: "1",
      CERTMINT_LIST_ROWS_BURST_PER_TOKEN: "1",
    },
    prefix,
  );
  const address = live.server.address.replace(/^127\.0\.0\.1:/, "localhost:");
  const admin = makeClients(
    address,
    live.server.adminToken(),
    credentials.createSsl(Buffer.from(serverCa.certPem)),
  );
  await issueCertificateDueForRenewal(admin, {
    rootName: "Adopter Root",
    name: "setup.example.com",
  });
  return {
    live,
    admin,
    clientCommonName,
    env: (name) => ({
      ADOPT_ADDR: address,
      ADOPT_CA_FILE: serverCa.certFile,
      ADOPT_CLIENT_CERT: clientLeaf.certFile,
      ADOPT_CLIENT_KEY: clientLeaf.keyFile,
      CERTMINT_TOKEN: live.server.adminToken(),
      ADOPT_PROFILE: DUE_PROFILE,
      ADOPT_NAME: name,
    }),
    logLines: () =>
      live.server
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop() {
      await stopOnDatabase([admin], live);
      dir.remove();
    },
  };
}

/** What every language's adoption program must print. */
export function expectedAdoption() {
  return {
    tls_status: "CERTIFICATE_REQUEST_STATUS_ISSUED",
    mtls_status: "CERTIFICATE_REQUEST_STATUS_ISSUED",
    bad_request_code: "INVALIDARGUMENT",
    bad_request_reason: "ENUM_VALUE_UNKNOWN",
    bad_request_domain: "certmint.dev",
    bad_request_fields: ["extended_key_usages[0]", "key_usages[0]"],
    retry_code: "RESOURCEEXHAUSTED",
    retry_reason: "LIST_ROWS_EXHAUSTED",
    retry_delay_positive: true,
    watch_first_type: "CERTIFICATE_EVENT_TYPE_CURRENT",
    watch_deadline_code: "DEADLINEEXCEEDED",
    resumed_first_type: "CERTIFICATE_EVENT_TYPE_REVOKED",
    resumed_certificate_is_watched: true,
  };
}

/** Codes as one spelling: Go prints "InvalidArgument", the others "INVALID_ARGUMENT". */
export function normalizedCodes(out: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(out).map(([k, v]) => [
      k,
      k.endsWith("_code") && typeof v === "string" ? v.replace(/_/g, "").toUpperCase() : v,
    ]),
  );
}

/**
 * gen/java and the probe's Java sources (`extra`), compiled once per content into
 * dist/probe52-java/<hash> (javac is most of a Java test's time).
 */
export function javaClasses(jars: string, extra: string[]): string {
  const sources = [
    ...readdirSync(join(ROOT, "gen", "java"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".java"))
      .map((f) => join(ROOT, "gen", "java", f)),
    ...extra,
  ];
  const hash = createHash("sha256");
  for (const file of sources) hash.update(`${file}\0`).update(readFileSync(file));
  for (const jar of readdirSync(jars).sort()) hash.update(`${jar}\0`);
  const cache = join(ROOT, "dist", "probe52-java");
  const classes = join(cache, hash.digest("hex").slice(0, 16));
  if (existsSync(classes)) return classes;
  mkdirSync(cache, { recursive: true });
  const building = mkdtempSync(join(cache, "building-"));
  execFileSync(
    "javac",
    ["-J-XX:TieredStopAtLevel=1", "-nowarn", "-d", building, "-cp", `${jars}/*`, ...sources],
    { encoding: "utf8", timeout: 120_000 },
  );
  if (!existsSync(classes)) renameSync(building, classes);
  return classes;
}

/** Runs a client program and parses the one JSON object it prints. */
export function runJson(file: string, args: string[], env: Record<string, string>, cwd = ROOT) {
  const out = execFileSync(file, args, {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return JSON.parse(out) as Record<string, unknown>;
}

/**
 * The server logged the mTLS call (by its x-request-id, `<name>-mtls-call`) with the client
 * certificate as peer. Waited for: the server's output is read by this process's event loop,
 * which the synchronous run of the client program held up.
 */
export async function expectMtlsPeer(s: LiveTls, name: string): Promise<void> {
  const mtlsCall = () =>
    s.logLines().filter((l) => l.requestId === `${name}-mtls-call` && l.msg === "call");
  await waitFor(`the log line of ${name}'s mTLS call`, () => mtlsCall().length > 0);
  expect(mtlsCall()[0]).toMatchObject({
    method: "/certmint.v1.CertificateService/IssueCertificate",
    code: "OK",
    peer: { cn: s.clientCommonName },
  });
}

/**
 * A describe block's server (startLiveTls, named `prefix`) and scratch directory, started
 * before its tests and removed after them.
 */
export function liveTlsSuite(prefix: string): { server(): LiveTls; scratch: string } {
  let s: LiveTls | undefined;
  const scratch = mkdtempSync(join(tmpdir(), `certmint-${prefix}-`));
  beforeAll(async () => {
    s = await startLiveTls(prefix);
  }, START_LIMIT_MS + 30_000);
  afterAll(async () => {
    await s?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });
  return {
    server: () => {
      if (!s) throw new Error("the server did not start");
      return s;
    },
    scratch,
  };
}
