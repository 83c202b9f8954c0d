/**
 * What the LOADCLIENTS probe's tests share: the compiled server over TLS on a fresh database
 * (test/probe49/live.ts) with a root CA, a TLS-server policy, the profile DUE_PROFILE and one
 * certificate to read; the environment a client program needs; the server's warnings that a
 * limit against attackers closed or refused a client (none may appear for these legitimate
 * clients); and the build of the Go program. Black-box: nothing of src/ is imported.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";
import { type CertmintClients, makeClients } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { DUE_PROFILE, issueCertificateDueForRenewal } from "../../support/renewal-due";
import { ROOT, START_LIMIT_MS } from "../../support/server-process";
import { makeCa, makeLeaf } from "../../tls/pki";

export const HERE = join(ROOT, "test", "probe53", "loadclients");

export interface LiveLoad {
  live: ServerOnDatabase;
  admin: CertmintClients;
  /** host:port with the name the server certificate carries. */
  address: string;
  caFile: string;
  caPem: string;
  certificateId: string;
  /** The environment of a client program. */
  env(): Record<string, string>;
  logLines(): Record<string, unknown>[];
  /**
   * Log lines saying a limit against attackers closed or refused a connection or call: rapid
   * reset, too_many_pings, the connection caps, open calls, credential-free calls, request bytes.
   */
  limitWarnings(): string[];
  /** Messages of the server's error and fatal log lines (level 50 and above). */
  errorLines(): string[];
  stop(): Promise<void>;
}

const LIMIT_WARNINGS =
  /rapid reset|too_many_pings|connection limit reached|its share of connections|share of open calls|CERTMINT_MAX_OPEN_CALLS|Health and reflection calls|requests arriving on the gRPC port|answers refused/;

export async function startLiveLoad(prefix: string, env: Record<string, string>) {
  const dir = new TempDir();
  const ca = makeCa(dir, "load server CA");
  const leaf = makeLeaf(dir, ca, "certmint", "server");
  const live = await startOnFreshDatabase(
    { CERTMINT_TLS_CERT_FILE: leaf.certFile, CERTMINT_TLS_KEY_FILE: leaf.keyFile, ...env },
    prefix,
  );
  const address = live.server.address.replace(/^127\.0\.0\.1:/, "localhost:");
  const admin = makeClients(
    address,
    live.server.adminToken(),
    credentials.createSsl(Buffer.from(ca.certPem)),
  );
  const { issued } = await issueCertificateDueForRenewal(admin, {
    rootName: "Load Root",
    name: "load.example.com",
  });
  const logLines = () =>
    live.server
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    live,
    admin,
    address,
    caFile: ca.certFile,
    caPem: ca.certPem,
    certificateId: issued.certificate!.certificateId,
    env: () => ({
      LOAD_ADDR: address,
      LOAD_CA_FILE: ca.certFile,
      CERTMINT_TOKEN: live.server.adminToken(),
      LOAD_PROFILE: DUE_PROFILE,
      LOAD_CERT_ID: issued.certificate!.certificateId,
    }),
    logLines,
    limitWarnings: () =>
      logLines()
        .map((l) => String(l.msg ?? ""))
        .filter((m) => LIMIT_WARNINGS.test(m)),
    errorLines: () =>
      logLines()
        .filter((l) => Number(l.level) >= 50)
        .map((l) => String(l.msg ?? "")),
    async stop() {
      await stopOnDatabase([admin], live);
      dir.remove();
    },
  } satisfies LiveLoad;
}

/** A describe block's server (startLiveLoad), started before its tests and stopped after them. */
export function liveLoadSuite(prefix: string, env: Record<string, string> = {}): () => LiveLoad {
  let s: LiveLoad | undefined;
  beforeAll(async () => {
    s = await startLiveLoad(prefix, env);
  }, START_LIMIT_MS + 30_000);
  afterAll(async () => {
    await s?.stop();
  });
  return () => {
    if (!s) throw new Error("the server did not start");
    return s;
  };
}

/**
 * Short connection lifetimes (documented settings): connections recycle during a test. The grace
 * is what a call in flight at the GOAWAY may still take (5 s: far above any call here; watches
 * still cross rollovers). No call may fail at a rollover (src/server/connection-limits.ts,
 * limitAge; until stop 54 of 2026-12-07 grpc-js's max age dropped a few calls in each run).
 */
export const RECYCLING = {
  CERTMINT_CONNECTION_MAX_AGE_MS: "3000",
  CERTMINT_CONNECTION_MAX_AGE_GRACE_MS: "5000",
  CERTMINT_KEEPALIVE_TIME_MS: "1000",
  CERTMINT_WATCH_KEEPALIVE_MS: "1000",
};

/** Runs a client program and parses the one JSON object it prints. */
export function runJson(
  file: string,
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
  timeout = 150_000,
): Record<string, unknown> {
  const out = execFileSync(file, args, {
    cwd,
    encoding: "utf8",
    timeout,
    maxBuffer: 16 * 1024 * 1024,
    env: { ...process.env, ...env },
  });
  return JSON.parse(out) as Record<string, unknown>;
}

/** The Go program built in a module of its own, as the README's "Clients" says (a replace). */
export function buildGo(): string {
  const dir = mkdtempSync(join(tmpdir(), "certmint-load-go-"));
  cpSync(join(HERE, "go", "main.go"), join(dir, "main.go"));
  writeFileSync(
    join(dir, "go.mod"),
    `module example\n\ngo 1.26.0\n\nrequire github.com/certmint/certmint/gen/go v0.0.0\n\n` +
      `replace github.com/certmint/certmint/gen/go => ${join(ROOT, "gen", "go")}\n`,
  );
  const go = (...args: string[]) =>
    execFileSync("go", args, {
      cwd: dir,
      encoding: "utf8",
      timeout: 240_000,
      env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
    });
  go("mod", "tidy");
  go("build", "-o", "load", ".");
  return join(dir, "load");
}

export function removeBuild(file: string): void {
  rmSync(join(file, ".."), { recursive: true, force: true });
}

/** A phase of a client program: how many calls, errors and wrong answers. */
export interface Tally {
  calls: number;
  errors: number;
  wrong: number;
  first_errors: string[] | null;
}

/** `t` made `calls` calls, none failed, none answered wrongly (its first errors shown if not). */
export function expectClean(t: unknown, calls: number): void {
  const tally = t as Tally;
  expect({ ...tally, first_errors: tally.first_errors ?? [] }).toEqual({
    calls,
    errors: 0,
    wrong: 0,
    first_errors: [],
  });
}

/**
 * What a volume run (the phases of go/main.go, in every language) must show: every call of every
 * phase answered rightly, the deadlines accepted, the 1 s watch ended DEADLINE_EXCEEDED, one
 * connection for the whole run, and no limit against attackers nor any error in the server's log.
 */
export function expectVolume(out: Record<string, unknown>, s: LiveLoad): void {
  expectClean(out.sequential, 1500);
  expectClean(out.concurrent64, 1500);
  expectClean(out.gzip, 305);
  expect(out.deadlines).toEqual({ "1s": "OK", "30s": "OK", "48h": "OK", "40d": "OK" });
  expect(out.watch_1s_deadline).toBe("DEADLINE_EXCEEDED");
  expectClean(out.watches_opened, 90);
  expectClean(out.after_cancel, 200);
  expectClean(out.after_idle, 20);
  expect(out.connections).toBe(1);
  expect(s.limitWarnings()).toEqual([]);
  expect(s.errorLines()).toEqual([]);
}

/**
 * What a rollover run must show: the connection recycled at least twice, the profile watch
 * resumed with its cursor after UNAVAILABLE only and got every issued certificate once, and
 * neither the issuance nor the 16 readers on the same channel saw an error.
 */
export function expectRollover(out: Record<string, unknown>, s: LiveLoad): void {
  expect(out.reconnected_twice).toBe(true);
  expect(out).toMatchObject({ missing: 0, repeated: 0 });
  expect(out.watch_fatal).toBeUndefined();
  expect(Object.keys(out.resumes as object)).toEqual(["UNAVAILABLE"]);
  const unary = out.unary as Tally;
  expect(unary.calls).toBe(out.issued as number);
  expectClean(unary, unary.calls);
  const reads = out.reads as Tally;
  expect(reads.calls).toBeGreaterThan(0);
  expectClean(reads, reads.calls);
  expect(s.limitWarnings()).toEqual([]);
  expect(s.errorLines()).toEqual([]);
}

/** The volume and rollover tests of one language, `run` being its program. */
export function volumeAndRollover(
  library: string,
  prefix: string,
  run: (mode: string, env: Record<string, string>) => Promise<Record<string, unknown>>,
): void {
  describe(`${library} at volume, one channel`, () => {
    const server = liveLoadSuite(prefix);

    it("1,500 reads in turn, 1,500 at 64 at once, gzip, deadlines, 90 watches cancelled, idle with keepalive: no error, one connection", async () => {
      expectVolume(await run("volume", server().env()), server());
    }, 200_000);
  });

  describe(`${library} while the server recycles connections (max age 3 s)`, () => {
    const server = liveLoadSuite(`${prefix}roll`, RECYCLING);

    it("a profile watch resumes with its cursor (UNAVAILABLE only) and gets every certificate once; issuance and 16 readers on the same channel never fail", async () => {
      expectRollover(await run("rollover", server().env()), server());
    }, 150_000);
  });
}
