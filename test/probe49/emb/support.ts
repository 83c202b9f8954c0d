/**
 * Helpers of the stop-49 outside probe of the embedded default (`make run`: no DATABASE_URL,
 * PGlite in CERTMINT_DATA_DIR): the server started with README's node flags, the CLI run as a
 * user runs it, and the states the probes wait for.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@grpc/grpc-js";
import {
  CreateIntermediateCertificateAuthorityRequest,
  CreateRootCertificateAuthorityRequest,
} from "../../../gen/ts/certmint/v1/certificate_authority_service";
import { CreateCertificateProfileRequest } from "../../../gen/ts/certmint/v1/certificate_profile_service";
import { IssueCertificateRequest } from "../../../gen/ts/certmint/v1/certificate_service";
import type { KeyAlgorithm } from "../../../gen/ts/certmint/v1/common";
import { createTlsServerPolicy } from "../../support/fixtures";
import { type CertmintClients, call, makeClients } from "../../support/harness";
import {
  logLines,
  ROOT,
  type ServerProcess,
  startServerProcess,
} from "../../support/server-process";

/** The node flags `make run` passes (README "Two commands"). */
export const MAKE_RUN_NODE_ARGS = ["--max-semi-space-size=4", "--heap-growing-percent=50"];

/** The embedded default: no DATABASE_URL, whatever the test run exports. */
export const EMBEDDED = { DATABASE_URL: "" };

/** Starts the compiled server as `make run` does, on the embedded database in `dataDir`. */
export function startEmbedded(dataDir: string, env: Record<string, string> = {}) {
  return startServerProcess(
    { ...EMBEDDED, CERTMINT_DATA_DIR: dataDir, ...env },
    { nodeArgs: MAKE_RUN_NODE_ARGS },
  );
}

/** The compiled CLI (README: `npx certmint` runs dist/cli/certmint.js). */
const CLI = join(ROOT, "dist", "cli", "certmint.js");

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `certmint <args>` in `cwd` against `server`, as README's first-certificate story does. */
export function cli(server: ServerProcess, cwd: string, args: string[]): CliResult {
  const r = spawnSync(
    process.execPath,
    [CLI, "--server", server.address, "--data-dir", server.dataDir, ...args],
    {
      cwd,
      encoding: "utf8",
      env: { ...process.env, CERTMINT_SERVER: "", CERTMINT_TOKEN: "", CERTMINT_DATA_DIR: "" },
    },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The port the publication server (CRLs, CA certificates, OCSP over HTTP) bound. */
export function publicationPort(server: ServerProcess): number {
  const line = logLines(server).find(
    (l) => l.msg === "publishing CRLs, CA certificates and OCSP over HTTP",
  );
  if (!line) throw new Error("the server did not log its publication port");
  return Number(line.port);
}

/** Every socket the process has open, from /proc: listening TCP/UDP addresses and unix paths. */
export function openSockets(pid: number): {
  tcpListening: string[];
  udp: string[];
  unix: string[];
} {
  const inodes = new Set<string>();
  for (const fd of spawnSync("ls", [`/proc/${pid}/fd`], { encoding: "utf8" }).stdout.split("\n")) {
    if (!fd) continue;
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const table = (file: string) =>
    readFileSync(`/proc/${pid}/net/${file}`, "utf8").split("\n").slice(1).filter(Boolean);
  const hexAddress = (hex: string) => {
    const [ip, port] = hex.split(":");
    const bytes =
      ip!.length === 8
        ? ip!
            .match(/../g)!
            .reverse()
            .map((b) => Number.parseInt(b, 16))
            .join(".")
        : `[${ip}]`;
    return `${bytes}:${Number.parseInt(port!, 16)}`;
  };
  const inet = (file: string, state?: string) =>
    table(file)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => inodes.has(f[9]!) && (state === undefined || f[3] === state))
      .map((f) => hexAddress(f[1]!));
  const unix = table("unix")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => inodes.has(f[6]!) && f[7] !== undefined)
    .map((f) => f[7]!);
  return {
    // 0A: TCP_LISTEN
    tcpListening: [...inet("tcp", "0A"), ...inet("tcp6", "0A")],
    udp: [...inet("udp"), ...inet("udp6")],
    unix,
  };
}

/** Typed clients, closed together. */
export function clientsOf(server: ServerProcess, token = server.adminToken()) {
  const c = makeClients(server.address, token);
  return { c, close: () => closeClients(c) };
}

export function closeClients(c: CertmintClients | undefined): void {
  for (const client of Object.values(c ?? {})) (client as Client).close();
}

/** The text of the "call" log lines whose gRPC code is `code`. */
export function callsWithCode(server: ServerProcess, code: string) {
  return logLines(server).filter((l) => l.msg === "call" && l.code === code);
}

/** The port of /metrics (CERTMINT_METRICS_LISTEN), from the server's log. */
function metricsPort(server: ServerProcess): number {
  const line = logLines(server).find((l) => l.msg === "serving Prometheus metrics at /metrics");
  if (!line) throw new Error("the server did not log its metrics port (CERTMINT_METRICS_LISTEN)");
  return Number(line.port);
}

/**
 * RSA keys being generated and waiting for a thread now (certmint_key_generation_running and
 * _queue_depth): calls the server holds, seen from outside.
 */
export async function keyGenerationsHeld(server: ServerProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort(server)}/metrics`)).text();
  const value = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? "0");
  return value("certmint_key_generation_running") + value("certmint_key_generation_queue_depth");
}

/** IssueCertificate on `profile` under `requestId` for a key the server generates, named `dnsName`. */
export function generatedKeyRequest(
  profile: string,
  requestId: string,
  dnsName: string,
  keyAlgorithm?: KeyAlgorithm,
) {
  return IssueCertificateRequest.fromPartial({
    certificateProfile: profile,
    requestId,
    source: {
      $case: "attributes",
      value: { subjectAlternativeNames: { dnsNames: [dnsName] }, keyAlgorithm },
    },
  });
}

/** IssueCertificate on `profile` under `requestId` for the key of `csrPem`. */
export function csrIssueRequest(profile: string, requestId: string, csrPem: string) {
  return IssueCertificateRequest.fromPartial({
    certificateProfile: profile,
    requestId,
    source: { $case: "csrPem", value: csrPem },
  });
}

/**
 * Over gRPC: a TLS-server policy "web-tls" (names under example.com, 30 days) and a profile
 * "web" that the CA `issuer` signs for.
 */
async function createWebProfile(c: CertmintClients, issuer: string) {
  await createTlsServerPolicy(c, "web-tls", 2_592_000);
  await call(
    c.profiles,
    "createCertificateProfile",
    CreateCertificateProfileRequest.fromPartial({
      certificateProfile: {
        slug: "web",
        certificatePolicy: "web-tls",
        issuer: { $case: "certificateAuthority", value: issuer },
      },
    }),
  );
}

/** Over gRPC: a root "root" named `commonName`, and the profile "web" (createWebProfile) on it. */
export async function createRootProfile(c: CertmintClients, commonName: string) {
  const root = await call(
    c.authorities,
    "createRootCertificateAuthority",
    CreateRootCertificateAuthorityRequest.fromPartial({ slug: "root", subject: { commonName } }),
  );
  await createWebProfile(c, "root");
  return root.certificateAuthority!;
}

/**
 * Over gRPC: a root "root", an intermediate "issuing" under it, a TLS-server policy "web-tls"
 * (names under example.com, 30 days) and a profile "web" that "issuing" signs for.
 */
export async function createIssuingProfile(c: CertmintClients) {
  const root = await call(
    c.authorities,
    "createRootCertificateAuthority",
    CreateRootCertificateAuthorityRequest.fromPartial({
      slug: "root",
      subject: { commonName: "Probe Root" },
    }),
  );
  const issuing = await call(
    c.authorities,
    "createIntermediateCertificateAuthority",
    CreateIntermediateCertificateAuthorityRequest.fromPartial({
      slug: "issuing",
      parentCertificateAuthority: "root",
      subject: { commonName: "Probe Issuing" },
    }),
  );
  await createWebProfile(c, "issuing");
  return { root: root.certificateAuthority!, issuing: issuing.certificateAuthority! };
}
