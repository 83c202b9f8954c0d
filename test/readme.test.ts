import { execFileSync } from "node:child_process";
import { createPrivateKey, X509Certificate } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openssl } from "./support/openssl";
import { createTestDatabase, type TestDatabase } from "./support/postgres";
import { ROOT, type ServerProcess, startServerProcess } from "./support/server-process";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const GRPCURL = ".tools/bin/grpcurl";

/** The code blocks of one language (the word after ```) in the README's section `heading`. */
function codeBlocks(heading: string, language: string): string[] {
  const section = README.split(`\n${heading}\n`)[1]?.split(/\n## /)[0];
  if (!section) throw new Error(`README has no section "${heading}"`);
  return [...section.matchAll(/^```(\S*)\n([\s\S]*?)^```$/gm)]
    .filter((m) => m[1] === language)
    .map((m) => m[2]!);
}

/**
 * The README's `index`-th shell block under `heading`, with the default address replaced by
 * `address`, the default data directory's admin token file by the test server's, and grpcurl
 * by its path in the clone (so the block can run in a directory of its own).
 */
function readmeBlock(heading: string, address: string, dataDir: string, index = 0): string {
  const block = codeBlocks(`## ${heading}`, "sh")[index];
  if (block === undefined) throw new Error(`README has no sh block ${index} under "## ${heading}"`);
  return block
    .replaceAll("127.0.0.1:50051", address)
    .replaceAll("data/admin-token", join(dataDir, "admin-token"))
    .replaceAll(GRPCURL, join(ROOT, GRPCURL));
}

/** Splits grpcurl's concatenated JSON outputs. */
function jsonDocuments(text: string): Array<Record<string, unknown>> {
  return text
    .split(/\n(?=\{)/)
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => JSON.parse(t));
}

/** A directory inside the clone (scratch/ is git-ignored), where `npx certmint` finds the clone's CLI. */
function cloneScratch(): string {
  mkdirSync(join(ROOT, "scratch"), { recursive: true });
  return mkdtempSync(join(ROOT, "scratch", "readme-"));
}

describe("the README's examples work exactly as written", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const dirs: string[] = [];
  const dir = (made: string) => {
    dirs.push(made);
    return made;
  };
  /** The environment of a shell in the clone, with the CLI pointed at the test server. */
  const cliEnv = () => {
    const { CERTMINT_TOKEN: _, ...env } = process.env;
    return {
      ...env,
      CERTMINT_SERVER: server.address,
      CERTMINT_DATA_DIR: server.dataDir,
      npm_config_update_notifier: "false",
    };
  };

  beforeAll(async () => {
    db = await createTestDatabase({ migrated: true });
    server = await startServerProcess({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await server?.stop();
    await db?.drop();
  });

  it("a first certificate with grpcurl, then one for a CSR put into the JSON by jq", () => {
    const cwd = dir(mkdtempSync(join(tmpdir(), "certmint-readme-")));
    const blocks = [0, 1].map((i) =>
      readmeBlock("A first certificate with grpcurl", server.address, server.dataDir, i),
    );
    const out = execFileSync("bash", ["-c", `set -euo pipefail\n${blocks.join("\n")}`], {
      cwd,
      encoding: "utf8",
      timeout: 60_000,
    });
    const docs = jsonDocuments(out);
    expect(docs).toHaveLength(7); // root, intermediate, policy, profile, certificate, CRL, CSR certificate
    const issued = docs[4] as {
      status: string;
      certificate: { certificatePem: string; certificateChainPem: string[] };
    };
    expect(issued.status).toBe("CERTIFICATE_REQUEST_STATUS_ISSUED");
    const leaf = new X509Certificate(issued.certificate.certificatePem);
    const issuing = new X509Certificate(issued.certificate.certificateChainPem[0]!);
    const root = new X509Certificate(issued.certificate.certificateChainPem[1]!);
    expect(leaf.subjectAltName).toBe("DNS:api.example.com");
    expect(leaf.verify(issuing.publicKey) && issuing.verify(root.publicKey)).toBe(true);
    // The CA's first CRL: its number is its thisUpdate in milliseconds (since stop 41).
    const crl = docs[5] as { crlNumber: string; crlPem: string };
    expect(BigInt(crl.crlNumber)).toBeGreaterThan(BigInt(Date.parse("2026-01-01T00:00:00Z")));
    expect(crl.crlPem).toContain("BEGIN X509 CRL");
    const fromCsr = docs[6] as { status: string; certificate: { certificatePem: string } };
    expect(fromCsr.status).toBe("CERTIFICATE_REQUEST_STATUS_ISSUED");
    const csrLeaf = new X509Certificate(fromCsr.certificate.certificatePem);
    expect(csrLeaf.subject).toBe("CN=db.example.com");
    // The certificate certifies the key openssl made next to the CSR.
    expect(csrLeaf.checkPrivateKey(createPrivateKey(readFileSync(join(cwd, "db.key"))))).toBe(true);
  });

  it("the grpcurl list, describe and health examples", () => {
    const out = execFileSync(
      "bash",
      [
        "-c",
        `cd ${JSON.stringify(ROOT)}\n${readmeBlock("Talking to certmint with grpcurl", server.address, server.dataDir).replace(/^make grpcurl.*$/m, "")}`,
      ],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(out).toContain("certmint.v1.CertificateService");
    expect(out).toContain("string certificate_profile = 1;");
    expect(out).toContain('"status": "SERVING"');
  });

  it("a first certificate with the CLI: three commands put it on disk; then more with the CLI", () => {
    const [quickstart] = codeBlocks("## A first certificate with the CLI", "sh");
    const [more] = codeBlocks("### More with the CLI", "sh");
    const commands = quickstart!
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("#"));
    expect(commands).toHaveLength(3);
    expect(commands.every((c) => c.startsWith("npx certmint "))).toBe(true);
    const cwd = dir(cloneScratch());
    const out = execFileSync("bash", ["-c", `set -euo pipefail\n${quickstart}\n${more}`], {
      cwd,
      env: cliEnv(),
      encoding: "utf8",
      timeout: 180_000,
    });
    const file = (name: string) => join(cwd, name);
    expect(statSync(file("api.example.com.key")).mode & 0o777).toBe(0o600);
    expect(
      openssl(["verify", "-CAfile", file("api.example.com.chain.pem"), file("api.example.com.crt")])
        .stdout,
    ).toContain(": OK");
    expect(new X509Certificate(readFileSync(file("api.example.com.crt"))).subjectAltName).toBe(
      "DNS:api.example.com",
    );
    // The CSR's certificate: the bundle holds it and internal-ca's, the chain file verifies it.
    const bundle = readFileSync(file("db.crt"), "utf8");
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(openssl(["verify", "-CAfile", file("db.chain.pem"), file("db.crt")]).stdout).toContain(
      ": OK",
    );
    expect(statSync(file("internal-issuer.token")).mode & 0o777).toBe(0o600);
    const revoked = new X509Certificate(readFileSync(file("cache.internal.example.com.crt")));
    expect(out.replace(/:/g, "").toLowerCase()).toContain(revoked.serialNumber.toLowerCase());
    expect(out).toMatch(/^TIME +ACTOR +METHOD +RESOURCE +CODE +REASON +REQUEST ID( +CHANGES)?$/m);
    expect(out).toMatch(/CertificateService\/RevokeCertificate +certificate [0-9a-f-]{36} +OK/);
    expect(existsSync(file("cache.internal.example.com.key"))).toBe(true);
  }, 200_000);

  it("the TypeScript, Go and Python client examples are complete programs that run", () => {
    // A request id to look up, made with the CLI.
    const cwd = dir(cloneScratch());
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [join(ROOT, "dist", "cli", "certmint.js"), ...args], {
        cwd,
        env: cliEnv(),
        encoding: "utf8",
      });
    cli("ca", "create-root", "examples-root", "--cn", "Examples Root");
    cli(
      "profile",
      "create",
      "examples",
      "--ca",
      "examples-root",
      "--preset",
      "tls-server",
      "--allow-dns",
      "**.example.com",
    );
    const issued = JSON.parse(
      cli("cert", "issue", "--profile", "examples", "--dns", "examples.example.com", "-o", "json"),
    );
    const requestId: string = issued.certificateRequestId;
    const expected = `CERTIFICATE_REQUEST_STATUS_ISSUED\n${issued.certificate.certificatePem}`;
    const env = { ...process.env, CERTMINT_TOKEN: server.adminToken() };
    const program = (language: string, index = 0) =>
      codeBlocks("## Clients", language)[index]!.replaceAll("127.0.0.1:50051", server.address);

    // TypeScript, saved in the clone as example.ts (here in a directory inside it, so its
    // import of ./gen/ts points one level further up).
    writeFileSync(
      join(cwd, "example.ts"),
      program("ts").replaceAll('"./gen/ts/', '"../../gen/ts/'),
    );
    const ts = execFileSync("npx", ["tsx", "example.ts", requestId], {
      cwd,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(ts).toBe(expected);

    const go = dir(mkdtempSync(join(tmpdir(), "certmint-readme-go-")));
    writeFileSync(join(go, "main.go"), program("go"));
    const goMod = codeBlocks("## Clients", "text").find((b) => b.startsWith("module "))!;
    writeFileSync(
      join(go, "go.mod"),
      goMod.replace("./path/to/certmint/gen/go", join(ROOT, "gen", "go")),
    );
    const goEnv = { ...env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" };
    execFileSync("go", ["mod", "tidy"], {
      cwd: go,
      env: goEnv,
      encoding: "utf8",
      timeout: 240_000,
    });
    expect(
      execFileSync("go", ["run", ".", requestId], {
        cwd: go,
        env: goEnv,
        encoding: "utf8",
        timeout: 240_000,
      }),
    ).toBe(expected);

    const python = join(ROOT, ".tools", "venv", "bin", "python");
    if (!existsSync(python)) throw new Error("no .tools/venv: run `make python-tools`");
    writeFileSync(join(cwd, "example.py"), program("python"));
    const py = execFileSync(python, ["example.py", requestId], {
      cwd,
      env: { ...env, PYTHONPATH: join(ROOT, "gen", "python") },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(py).toBe(expected);
  }, 600_000);
});
