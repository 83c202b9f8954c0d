/**
 * How the CLI reaches certmint and proves who it is: where the token comes from (and where the
 * local admin token is never sent), plaintext only to loopback unless asked, TLS with --ca-file,
 * mTLS with a client certificate bound to an access token, and what a failed connection says.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { TempDir } from "../support/openssl";
import { type Issued, makeCa, makeLeaf } from "../tls/pki";
import { ok, runCli } from "./cli";

/** A port nothing listens on: one the kernel just handed out and was given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("token sources, on a plaintext loopback server", () => {
  let h: TestCertmint;
  let port: string;
  let empty: string;
  let clone: string;
  let issuerToken: string;

  beforeAll(async () => {
    h = await startTestCertmint();
    port = h.address.split(":")[1]!;
    empty = mkdtempSync(join(tmpdir(), "certmint-cli-empty-"));
    // A working directory like a clone after `make run`: ./data/admin-token.
    clone = mkdtempSync(join(tmpdir(), "certmint-cli-clone-"));
    mkdirSync(join(clone, "data"), { mode: 0o700 });
    copyFileSync(join(h.dataDir, "admin-token"), join(clone, "data", "admin-token"));
    const env = { CERTMINT_DATA_DIR: h.dataDir };
    ok(
      await runCli(["--server", h.address, "ca", "create-root", "root", "--cn", "Root"], {
        cwd: empty,
        env,
      }),
    );
    ok(
      await runCli(
        [
          "--server",
          h.address,
          "profile",
          "create",
          "web",
          "--ca",
          "root",
          "--preset",
          "tls-server",
          "--allow-dns",
          "**.example.com",
        ],
        { cwd: empty, env },
      ),
    );
    ok(
      await runCli(
        [
          "--server",
          h.address,
          "token",
          "create",
          "issuer",
          "--role",
          "issuer",
          "--profile",
          "web",
        ],
        { cwd: empty, env },
      ),
    );
    issuerToken = readFileSync(join(empty, "issuer.token"), "utf8").trim();
  });
  afterAll(async () => {
    rmSync(empty, { recursive: true, force: true });
    rmSync(clone, { recursive: true, force: true });
    await h?.stop();
  });

  it("no token anywhere: UNAUTHENTICATED with the reason and a hint, exit 1", async () => {
    const r = await runCli(["--server", h.address, "ca", "list"], { cwd: empty });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: UNAUTHENTICATED: /);
    expect(r.stderr).toContain("  reason: CREDENTIALS_MISSING (certmint.dev)");
    expect(r.stderr).toContain(
      "  hint: no access token was sent: set CERTMINT_TOKEN, pass --token-file FILE",
    );
  });

  it("the local admin token: ./data/admin-token by default, $CERTMINT_DATA_DIR, --data-dir; localhost is loopback", async () => {
    for (const server of [h.address, `localhost:${port}`]) {
      expect(ok(await runCli(["--server", server, "ca", "list"], { cwd: clone })).stdout).toMatch(
        /^root +root +active/m,
      );
    }
    ok(
      await runCli(["--server", h.address, "ca", "list"], {
        cwd: empty,
        env: { CERTMINT_DATA_DIR: h.dataDir },
      }),
    );
    ok(
      await runCli(["--server", h.address, "--data-dir", h.dataDir, "ca", "list"], { cwd: empty }),
    );
    const missing = await runCli(["--server", h.address, "--data-dir", empty, "ca", "list"], {
      cwd: empty,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`--data-dir: ${join(empty, "admin-token")} does not exist`);
  });

  it("$CERTMINT_TOKEN comes before the admin token, --token-file before $CERTMINT_TOKEN", async () => {
    // The issuer may not list CAs: a refusal proves which token was sent.
    const asIssuer = await runCli(["--server", h.address, "ca", "list"], {
      cwd: clone,
      env: { CERTMINT_TOKEN: issuerToken },
    });
    expect(asIssuer.code).toBe(1);
    expect(asIssuer.stderr).toContain("reason: ROLE_NOT_ALLOWED");
    const fromFile = await runCli(
      ["--server", h.address, "--token-file", join(clone, "data", "admin-token"), "ca", "list"],
      {
        cwd: empty,
        env: { CERTMINT_TOKEN: issuerToken },
      },
    );
    expect(ok(fromFile).stdout).toMatch(/^root /m);
    const issued = ok(
      await runCli(
        ["--server", h.address, "cert", "issue", "--profile", "web", "--dns", "env.example.com"],
        { cwd: empty, env: { CERTMINT_TOKEN: issuerToken } },
      ),
    );
    expect(issued.stdout).toMatch(/^status: +issued$/m);
  });

  it("the local admin token is never sent to an address that is not loopback", async () => {
    // 0.0.0.0 reaches this machine's listener on Linux, but is not a loopback address: as far as
    // the CLI can tell, another machine. Plaintext needs --insecure there.
    const far = `0.0.0.0:${port}`;
    const withheld = await runCli(["--server", far, "--insecure", "ca", "list"], { cwd: clone });
    expect(withheld.code).toBe(1);
    expect(withheld.stderr).toContain("reason: CREDENTIALS_MISSING");
    const explicit = await runCli(
      ["--server", far, "--insecure", "--data-dir", join(clone, "data"), "ca", "list"],
      { cwd: clone },
    );
    expect(explicit.code).toBe(2);
    expect(explicit.stderr).toContain(
      "--data-dir: the local admin token is only sent to a server on this machine",
    );
    const tls = await runCli(["--server", far, "ca", "list"], {
      cwd: clone,
      env: { CERTMINT_TOKEN: issuerToken },
    });
    expect(tls.code).toBe(1);
    expect(tls.stderr).toMatch(/^certmint: UNAVAILABLE: /);
    expect(tls.stderr).toContain(`hint: could not talk to certmint at ${far} over TLS`);
    // An explicit token goes wherever it is told to.
    const told = await runCli(
      [
        "--server",
        far,
        "--insecure",
        "cert",
        "issue",
        "--profile",
        "web",
        "--dns",
        "far.example.com",
      ],
      {
        cwd: empty,
        env: { CERTMINT_TOKEN: issuerToken },
      },
    );
    expect(ok(told).stdout).toMatch(/^status: +issued$/m);
  });

  it("nothing listening: UNAVAILABLE and a hint, exit 1", async () => {
    const r = await runCli(["--server", `127.0.0.1:${await closedPort()}`, "ca", "list"], {
      cwd: clone,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: UNAVAILABLE: /);
    expect(r.stderr).toContain("over plaintext: is it running (make run)?");
  });
});

describe("TLS and mTLS", () => {
  const pki = new TempDir();
  let h: TestCertmint;
  let serverCa: Issued;
  let client: Issued;
  let empty: string;

  beforeAll(async () => {
    serverCa = makeCa(pki, "CLI server CA");
    const clientCa = makeCa(pki, "CLI client CA");
    const server = makeLeaf(pki, serverCa, "certmint", "server");
    client = makeLeaf(pki, clientCa, "cli-client", "client");
    h = await startTestCertmint({
      CERTMINT_TLS_CERT_FILE: server.certFile,
      CERTMINT_TLS_KEY_FILE: server.keyFile,
      CERTMINT_TLS_CLIENT_CA_FILE: clientCa.certFile,
    });
    empty = mkdtempSync(join(tmpdir(), "certmint-cli-tls-"));
    ok(
      await runCli(
        [
          "--server",
          h.address,
          "--ca-file",
          serverCa.certFile,
          "--data-dir",
          h.dataDir,
          "token",
          "create",
          "cli-client",
          "--role",
          "auditor",
          "--bind-type",
          "common-name",
          "--bind-value",
          "cli-client",
          "--bind-issuer-sha256",
          clientCa.fingerprint,
        ],
        { cwd: empty },
      ),
    );
  });
  afterAll(async () => {
    rmSync(empty, { recursive: true, force: true });
    pki.remove();
    await h?.stop();
  });

  it("--ca-file verifies the server; plaintext or the system's CAs do not reach it", async () => {
    const base = ["--server", h.address, "--data-dir", h.dataDir];
    expect(
      ok(await runCli([...base, "--ca-file", serverCa.certFile, "token", "list"], { cwd: empty }))
        .stdout,
    ).toMatch(/^cli-client +auditor +active/m);
    const plaintext = await runCli([...base, "token", "list"], { cwd: empty });
    expect(plaintext.code).toBe(1);
    expect(plaintext.stderr).toMatch(/^certmint: UNAVAILABLE: /);
    expect(plaintext.stderr).toContain("over plaintext");
    const systemRoots = await runCli([...base, "--tls", "token", "list"], { cwd: empty });
    expect(systemRoots.code).toBe(1);
    expect(systemRoots.stderr).toMatch(/^certmint: UNAVAILABLE: /);
  });

  it("--tls-server-name: the name the server's certificate must carry", async () => {
    const base = [
      "--server",
      h.address,
      "--data-dir",
      h.dataDir,
      "--ca-file",
      serverCa.certFile,
      "ca",
      "list",
    ];
    ok(await runCli([...base, "--tls-server-name", "localhost"], { cwd: empty }));
    const wrong = await runCli([...base, "--tls-server-name", "elsewhere.example.com"], {
      cwd: empty,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^certmint: UNAVAILABLE: /);
  });

  it("mTLS: the client certificate authenticates as the token bound to it, without any token", async () => {
    const mtls = [
      "--server",
      h.address,
      "--ca-file",
      serverCa.certFile,
      "--cert-file",
      client.certFile,
      "--key-file",
      client.keyFile,
    ];
    // An empty working directory, no --data-dir, no $CERTMINT_TOKEN: the certificate is the credential.
    expect(ok(await runCli([...mtls, "token", "list"], { cwd: empty })).stdout).toMatch(
      /^cli-client /m,
    );
    const write = await runCli([...mtls, "ca", "create-root", "nope", "--cn", "Nope"], {
      cwd: empty,
    });
    expect(write.code).toBe(1);
    expect(write.stderr).toContain("reason: ROLE_NOT_ALLOWED");
    expect(await h.db.query("select id from certificate_authority where slug = 'nope'")).toEqual(
      [],
    );
    const half = await runCli(
      ["--server", h.address, "--cert-file", client.certFile, "ca", "list"],
      { cwd: empty },
    );
    expect(half.code).toBe(2);
    expect(half.stderr).toContain("--cert-file and --key-file go together");
  });
});
