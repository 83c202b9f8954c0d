/**
 * Closed-loop load from a pinned generator process: `clients` workers, each on its own
 * connection, each sending its next request as soon as the previous one answered, for a fixed
 * time; requests in flight at the end are waited for and counted (so every stored certificate
 * is either a success or an error here). ghz drives certmint's IssueCertificate (gRPC, h2c or
 * TLS); vegeta drives the HTTP peers (bench/peers/vegeta.ts).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLIENT_PROFILE } from "./certmint";
import { ROOT, toolPath } from "./tools";

export interface LoadResult {
  successes: number;
  errors: number;
  /** From the first request to the last answer. */
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** Mean latency (ghz only). */
  meanMs?: number;
  /** The most frequent error, with its count. */
  topError?: string;
}

/** Runs a command to completion; its stdout, or an error with its stderr. */
export function runTool(cmd: string, args: string[], cpu?: number): Promise<string> {
  const [bin, argv] =
    cpu === undefined ? [cmd, args] : ["taskset", ["-c", String(cpu), cmd, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(Buffer.concat(out).toString("utf8"))
        : reject(new Error(`${cmd} exited ${code}: ${Buffer.concat(err).toString("utf8")}`)),
    );
  });
}

export function topOf(counts: Record<string, number> | undefined): string | undefined {
  const [message, n] = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1])[0] ?? [];
  return message === undefined ? undefined : `${n}x ${message.slice(0, 200)}`;
}

export interface GhzTarget {
  address: string;
  /** The CA file a TLS client trusts; plaintext (h2c) without it. */
  tlsCa?: string;
  token: string;
}

/**
 * Writes ghz's request file: one IssueCertificateRequest per CSR, used round-robin, each call
 * with a fresh request_id (ghz fills {{.UUID}} per call), so every call is a new issuance.
 */
export function writeGhzData(dir: string, csrs: string[]): string {
  const file = join(dir, "ghz-issue.json");
  writeFileSync(
    file,
    JSON.stringify(
      csrs.map((pem) => ({
        certificate_profile: CLIENT_PROFILE,
        request_id: "{{.UUID}}",
        csr_pem: pem,
      })),
    ),
  );
  return file;
}

interface GhzReport {
  total: number;
  average?: number;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
  latencyDistribution?: { percentage: number; latency: number }[] | null;
}

/** IssueCertificate with ghz for `seconds`, `clients` workers on as many HTTP/2 connections. */
export async function ghzIssue(
  target: GhzTarget,
  dataFile: string,
  load: { clients: number; seconds: number; cpu?: number; connections?: number; rps?: number },
): Promise<LoadResult> {
  const args = [
    // A fixed rate (calls/s over all workers) instead of as fast as the server answers.
    ...(load.rps ? ["--rps", String(load.rps)] : []),
    "--protoset",
    join(ROOT, "gen", "descriptor", "certmint.binpb"),
    "--call",
    "certmint.v1.CertificateService/IssueCertificate",
    "--data-file",
    dataFile,
    "--metadata",
    JSON.stringify({ authorization: `Bearer ${target.token}` }),
    "--concurrency",
    String(load.clients),
    "--connections",
    String(load.connections ?? load.clients),
    "--duration",
    `${load.seconds}s`,
    "--duration-stop",
    "wait",
    "--timeout",
    "60s",
    "--format",
    "json",
    ...(target.tlsCa ? ["--cacert", target.tlsCa] : ["--insecure"]),
    target.address,
  ];
  const report = JSON.parse(await runTool(toolPath("ghz"), args, load.cpu)) as GhzReport;
  const codes = report.statusCodeDistribution ?? {};
  const successes = codes.OK ?? 0;
  const errors = Object.values(codes).reduce((a, b) => a + b, 0) - successes;
  const pct = (p: number) =>
    (report.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? Number.NaN) / 1e6;
  return {
    successes,
    errors,
    seconds: report.total / 1e9,
    p50Ms: pct(50),
    p99Ms: pct(99),
    meanMs: (report.average ?? Number.NaN) / 1e6,
    topError: topOf(report.errorDistribution),
  };
}
