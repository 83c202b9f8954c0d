import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials } from "@grpc/grpc-js";
import { testLogFile } from "./harness";
import { HealthClient } from "./health-client";

export const ROOT = join(__dirname, "..", "..");

/** The compiled entry point: test/support/global-build.ts builds dist/ before every run. */
export const SERVER_ENTRY = join(ROOT, "dist", "src", "main.js");

/**
 * How a test starts certmint as a process: node on the compiled server, as `make run` runs it
 * (scripts/build-server.cjs output in dist/), run from the repository root.
 */
export function serverCommand(): { command: string; args: string[] } {
  if (!existsSync(SERVER_ENTRY)) {
    throw new Error(
      `${SERVER_ENTRY} is missing: vitest's globalSetup (test/support/global-build.ts) builds it`,
    );
  }
  return { command: process.execPath, args: [SERVER_ENTRY] };
}

/**
 * How long startServerProcess waits for "serving" (tests that start servers allow for it):
 * generous, since a first start creates the embedded database (PGlite's initdb), which takes
 * over a minute on a busy 2-core machine.
 */
export const START_LIMIT_MS = 180_000;
/** The name the test-suite helpers use for START_LIMIT_MS. */
export const START_TIMEOUT_MS = START_LIMIT_MS;

export interface ServerProcess {
  child: ChildProcess;
  address: string;
  dataDir: string;
  /** Every line the server wrote to stdout and stderr so far. */
  output(): string;
  /** The first admin token the server wrote to <dataDir>/admin-token. */
  adminToken(): string;
  /** SIGTERM, then wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** How a server process is launched besides its environment (resource probes). */
export interface LaunchOptions {
  /**
   * Its file-descriptor limit, soft and hard (RLIMIT_NOFILE), set by util-linux's prlimit,
   * which execs node: the child's pid is the server's.
   */
  nofile?: number;
  /** Flags for node before the entry point (e.g. --max-old-space-size=160). */
  nodeArgs?: string[];
  /**
   * Without root's power to read and write any file (withoutFileOverride): the data
   * directory's modes apply to the server, as to any service user (CI runs as root).
   */
  unprivileged?: boolean;
}

/** Runs the compiled server as `make run` does, on a free port, and waits until it serves. */
export async function startServerProcess(
  env: Record<string, string> = {},
  launch: LaunchOptions = {},
): Promise<ServerProcess> {
  const dataDir = env.CERTMINT_DATA_DIR ?? mkdtempSync(join(tmpdir(), "certmint-data-"));
  const node = serverCommand();
  const nodeArgs = [...(launch.nodeArgs ?? []), ...node.args];
  const limited =
    launch.nofile === undefined
      ? { command: node.command, args: nodeArgs }
      : {
          command: "prlimit",
          args: [`--nofile=${launch.nofile}:${launch.nofile}`, node.command, ...nodeArgs],
        };
  const [command, args] = withoutFileOverride(launch.unprivileged === true, limited);
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", CERTMINT_DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  // "close", not "exit": it fires once stdout and stderr are drained, so output() is complete.
  const logFile = testLogFile("process");
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      // The whole output joins the run's log scan (test/support/global-log-scan.ts).
      if (logFile) writeFileSync(logFile, out);
      resolve(code);
    }),
  );
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running behind the failed test.
      child.kill("SIGKILL");
      reject(new Error(`server did not start within ${START_TIMEOUT_MS} ms:\n${out}`));
    }, START_TIMEOUT_MS);
    const check = () => {
      // JSON lines, or the readable ones of CERTMINT_LOG_FORMAT=pretty.
      const listening =
        /"address":"([^"]+)","msg":"listening"/.exec(out) ??
        /INFO {2}listening address=(\S+)/.exec(out);
      if (listening && (out.includes('"msg":"serving"') || /INFO {2}serving\b/.test(out))) {
        clearTimeout(timer);
        resolve(listening[1]!);
      }
    };
    child.stdout?.on("data", check);
    child.on("exit", () => {
      clearTimeout(timer);
      reject(new Error(`server exited during start-up:\n${out}`));
    });
  });
  return {
    child,
    address,
    dataDir,
    output: () => out,
    adminToken: () => readFileSync(join(dataDir, "admin-token"), "utf8").trim(),
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** grpc.health.v1 Check of the whole server ("" service). */
export function checkHealth(address: string, service = ""): Promise<string> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    // A bound for a hung server, not a performance expectation: generous for a busy machine.
    client.check({ service }, { deadline: Date.now() + 60_000 }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    });
  });
}

/** A line of the server's JSON log (CERTMINT_LOG_FORMAT=json); a worker's lines carry its pid. */
export type LogLine = Record<string, unknown> & { msg?: string; pid?: number };

/** The JSON lines the server process has written so far (other lines left out). */
export function logLines(server: ServerProcess): LogLine[] {
  return server
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

/** Whether a process of this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The command and arguments that run `command` without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
 * (capabilities(7): what lets root read a file whatever its mode), when `drop` is set and this
 * process has them; setpriv(1) removes them from the bounding and inheritable sets, so the
 * program cannot get them back at exec. Anyone else is subject to file modes already.
 */
export function withoutFileOverride(
  drop: boolean,
  { command, args }: { command: string; args: string[] },
): [string, string[]] {
  if (!drop || !hasFileOverride()) return [command, args];
  const caps = "-dac_override,-dac_read_search";
  return ["setpriv", ["--bounding-set", caps, "--inh-caps", caps, "--", command, ...args]];
}

/** Whether this process's effective capabilities include CAP_DAC_OVERRIDE (bit 1) or CAP_DAC_READ_SEARCH (bit 2). */
function hasFileOverride(): boolean {
  const line = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)$/m);
  if (!line) return process.getuid?.() === 0;
  return (BigInt(`0x${line[1]}`) & 0b110n) !== 0n;
}
