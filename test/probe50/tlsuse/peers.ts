/**
 * Probe 50 (TLSUSE): independent TLS stacks as relying parties of certificates a live certmint
 * issued: OpenSSL (`s_client`, `s_server`), Node's tls module, Python's ssl, Go's crypto/tls
 * (peers/go, standard library only) and Java's JSSE (peers/java). Servers are Node
 * tls.createServer or `openssl s_server` on 127.0.0.1 and an ephemeral port; every client trusts
 * the root alone. Processes run asynchronously: a Node test server lives in this event loop.
 */
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { connect, isIP } from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { unusedPort } from "../../support/ports";
import { ROOT } from "../../support/server-process";
import { WAIT_TIMEOUT_MS, waitFor } from "../../support/wait";

const PEERS = join(__dirname, "peers");

/**
 * What a client sends once connected; the test servers answer it (Node with "hello", s_server
 * -www with a page), which shows a client certificate was accepted.
 */
const REQUEST = "GET / HTTP/1.0\r\n\r\n";
const ANSWERED = /hello|HTTP\/1\.0 200/;

export interface Verdict {
  ok: boolean;
  error?: string;
}

export const CLIENTS = ["openssl", "node", "python", "go", "java"] as const;
export type ClientName = (typeof CLIENTS)[number];

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end without blocking the event loop; `input` goes to its stdin. */
export function run(
  command: string,
  args: string[],
  o: { input?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: o.cwd,
      env: { ...process.env, ...o.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.input ?? "");
  });
}

async function runOk(command: string, args: string[], o: Parameters<typeof run>[2] = {}) {
  const r = await run(command, args, o);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")}: ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** One connection a client makes: to 127.0.0.1:port, the server verified for `name`. */
export interface Check {
  port: number;
  /** A DNS name (sent as SNI) or an IP address that the server's certificate must match. */
  name: string;
  rootFile: string;
  /** A client certificate (PEM, leaf then chain) and its key to present. */
  certFile?: string;
  keyFile?: string;
  /** Verify as at this time (Go and openssl only). */
  at?: Date;
}

const line = (mode: string, c: Check, extra: string[] = []) =>
  [
    mode,
    String(c.port),
    c.name,
    c.rootFile,
    c.certFile ?? "-",
    c.keyFile ?? "-",
    c.at ? String(Math.floor(c.at.getTime() / 1000)) : "-",
    ...extra,
  ].join("\t");

function verdicts(stdout: string, n: number, who: string, stderr: string): Verdict[] {
  const out = stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [head, ...rest] = l.split("\t");
      return head === "ok" ? { ok: true } : { ok: false, error: rest.join("\t") };
    });
  if (out.length !== n) throw new Error(`${who}: ${out.length} verdicts for ${n}:\n${stderr}`);
  return out;
}

/** The compiled peers of one test file: the Go binary and the Java classes, in `dir`. */
export class Peers {
  private constructor(private readonly dir: string) {}

  static async build(dir: string): Promise<Peers> {
    await runOk("go", ["build", "-o", join(dir, "go-peer"), "."], {
      cwd: join(PEERS, "go"),
      env: { GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
    });
    await runOk("javac", ["-d", join(dir, "java"), join(PEERS, "java", "TlsPeer.java")]);
    return new Peers(dir);
  }

  async go(checks: Check[]): Promise<Verdict[]> {
    const r = await run(join(this.dir, "go-peer"), [], {
      input: `${checks.map((c) => line("connect", c)).join("\n")}\n`,
    });
    return verdicts(r.stdout, checks.length, "go", r.stderr);
  }

  /** Go's server requiring a client certificate: its verdict on `client` (certFile/keyFile). */
  async goServerVerdict(
    client: Check,
    server: { certFile: string; keyFile: string },
  ): Promise<Verdict> {
    const r = await run(join(this.dir, "go-peer"), [], {
      input: `${line("mtls", client, [server.certFile, server.keyFile])}\n`,
    });
    return verdicts(r.stdout, 1, "go", r.stderr)[0]!;
  }

  async python(checks: Check[], crlFile?: string): Promise<Verdict[]> {
    const python = join(ROOT, ".tools", "venv", "bin", "python");
    const input = checks
      .map((c) =>
        crlFile
          ? ["crl", String(c.port), c.name, c.rootFile, crlFile].join("\t")
          : line("connect", c),
      )
      .join("\n");
    const r = await run(
      existsSync(python) ? python : "python3",
      [join(PEERS, "python", "tls_peer.py")],
      {
        input: `${input}\n`,
      },
    );
    return verdicts(r.stdout, checks.length, "python", r.stderr);
  }

  /** JSSE's verdicts; `flags` go to the JVM (-Dcom.sun.security.enableAIAcaIssuers=true). */
  async java(checks: Check[], flags: string[] = []): Promise<Verdict[]> {
    const r = await run(
      "java",
      ["-XX:TieredStopAtLevel=1", ...flags, "-cp", join(this.dir, "java"), "TlsPeer"],
      { input: `${checks.map((c) => line("connect", c)).join("\n")}\n` },
    );
    return verdicts(r.stdout, checks.length, "java", r.stderr);
  }

  /** Every client's verdict on every check: one process per language for all of them. */
  async all(checks: Check[]): Promise<Record<ClientName, Verdict>[]> {
    const openssl: Verdict[] = [];
    const node: Verdict[] = [];
    for (const c of checks) {
      openssl.push(await opensslConnect(c));
      node.push(await nodeConnect(c));
    }
    const [python, go, java] = [
      await this.python(checks),
      await this.go(checks),
      await this.java(checks),
    ];
    return checks.map((_, i) => ({
      openssl: openssl[i]!,
      node: node[i]!,
      python: python[i]!,
      go: go[i]!,
      java: java[i]!,
    }));
  }
}

/** `openssl s_client -verify_return_error` against the check; `extra` adds options (-CRL ...). */
export async function opensslConnect(c: Check, extra: string[] = []): Promise<Verdict & Ran> {
  const args = [
    "s_client",
    "-connect",
    `127.0.0.1:${c.port}`,
    "-CAfile",
    c.rootFile,
    "-verify_return_error",
    ...(isIP(c.name)
      ? ["-verify_ip", c.name]
      : ["-servername", c.name, "-verify_hostname", c.name]),
    ...(c.certFile ? ["-cert", c.certFile, "-key", c.keyFile!] : []),
    ...(c.at ? ["-attime", String(Math.floor(c.at.getTime() / 1000))] : []),
    // Wait for the server's answer to the request line: a TLS 1.3 server's refusal of a
    // client certificate arrives after the client's handshake has finished.
    "-ign_eof",
    ...extra,
  ];
  const r = await run("openssl", args, { input: REQUEST });
  // Not the exit code: s_client exits 1 on a server that closes without close_notify.
  const verified = /Verify return code: 0 \(ok\)/.test(r.stdout);
  // With a client certificate, only the line the test server writes shows it was accepted.
  const ok = verified && (!c.certFile || ANSWERED.test(r.stdout));
  return { ...r, ok, ...(ok ? {} : { error: r.stderr.trim().slice(-600) }) };
}

/**
 * Node's tls.connect: the chain checked by OpenSSL inside Node, the name by
 * tls.checkServerIdentity (RFC 6125), against `name` whatever address it dials.
 */
export function nodeConnect(
  c: Check,
  o: { crl?: string[] } = {},
): Promise<Verdict & { serial?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: c.port,
      ca: readFileSync(c.rootFile),
      ...(o.crl ? { crl: o.crl } : {}),
      ...(isIP(c.name) ? {} : { servername: c.name }),
      ...(c.certFile ? { cert: readFileSync(c.certFile), key: readFileSync(c.keyFile!) } : {}),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(c.name, cert),
      timeout: WAIT_TIMEOUT_MS,
    });
    let serial: string | undefined;
    let settled = false;
    const done = (v: Verdict) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ...v, ...(serial ? { serial } : {}) });
    };
    socket.once("secureConnect", () => {
      serial = socket.getPeerCertificate().serialNumber?.toLowerCase();
      socket.write(REQUEST);
      // The test servers write a line to every client they accept; a refused client
      // certificate shows as an error before it (TLS 1.3: after the client's handshake).
      if (!c.certFile) done({ ok: true });
    });
    socket.once("data", () => done({ ok: true }));
    socket.once("error", (e) => done({ ok: false, error: e.message }));
    socket.once("timeout", () => done({ ok: false, error: "timeout" }));
    socket.once("end", () => done({ ok: false, error: "closed before any data" }));
  });
}

export interface NodeServer {
  port: number;
  /** Hot-swaps the served key and chain (tls.Server.setSecureContext): later handshakes use it. */
  swap(key: string, certChain: string): void;
  /** The client certificates the server accepted, by serial (lower-case hex). */
  acceptedClients: string[];
  close(): Promise<void>;
}

/** A Node TLS server for `key` and `certChain` (leaf, then intermediates) on 127.0.0.1. */
export function serveNode(
  key: string,
  certChain: string,
  o: { clientRoot?: string } = {},
): Promise<NodeServer> {
  const acceptedClients: string[] = [];
  const server = tls.createServer(
    {
      key,
      cert: certChain,
      ...(o.clientRoot ? { requestCert: true, rejectUnauthorized: true, ca: o.clientRoot } : {}),
    },
    (socket) => {
      const peer = socket.getPeerCertificate();
      if (peer?.serialNumber) acceptedClients.push(peer.serialNumber.toLowerCase());
      socket.on("error", () => {});
      socket.end("hello\n");
    },
  );
  server.on("tlsClientError", () => {});
  // close() waits for every connection to end; a client may leave its half open.
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (!address || typeof address === "string") return reject(new Error("no port"));
      resolve({
        port: address.port,
        acceptedClients,
        swap: (k, c) => server.setSecureContext({ key: k, cert: c }),
        close: () =>
          new Promise((r) => {
            server.close(() => r());
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}

export interface OpensslServer {
  port: number;
  /** What s_server wrote so far (its verdicts on client certificates). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * `openssl s_server` for keyFile/certFile with `chainFile` (the intermediates) sent after the
 * leaf, on 127.0.0.1 and a free port; `extra` adds options (-Verify, -status_file ...).
 */
export async function serveOpenssl(
  o: { keyFile: string; certFile: string; chainFile: string },
  extra: string[] = [],
): Promise<OpensslServer> {
  // s_server's "ACCEPT" line stays in its stdout buffer when piped: take a free port instead.
  const port = await unusedPort();
  const child = spawn(
    "openssl",
    [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-key",
      o.keyFile,
      "-cert",
      o.certFile,
      "-cert_chain",
      o.chainFile,
      // Answer a request and close, so a client knows it was accepted.
      "-www",
      ...extra,
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  await waitFor(`openssl s_server on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`s_server exited ${child.exitCode}:\n${out}`);
    return listening(port);
  });
  return {
    port,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** The serial number of a PEM certificate, as a number (hex spellings differ in zeros). */
export const serialOf = (pem: string): bigint =>
  BigInt(`0x${new X509Certificate(pem).serialNumber}`);

/** The outcome of every client being `v`, to compare with outcome(). */
export const every = (v: "ok" | "refused"): Record<ClientName, "ok" | "refused"> =>
  Object.fromEntries(CLIENTS.map((c) => [c, v])) as Record<ClientName, "ok" | "refused">;

/** A readable summary of verdicts for expectations: client -> "ok" | "refused". */
export function outcome(v: Record<ClientName, Verdict>): Record<ClientName, "ok" | "refused"> {
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, x.ok ? "ok" : "refused"]),
  ) as Record<ClientName, "ok" | "refused">;
}

/** Errors of the verdicts, for a failing expectation's message. */
export const errors = (v: Record<string, Verdict>): string =>
  Object.entries(v)
    .filter(([, x]) => !x.ok)
    .map(([k, x]) => `${k}: ${x.error}`)
    .join("\n");
