/**
 * --help on every command and subcommand, as the issue lists them, and the usage errors a
 * person meets first. No server: help and usage errors never connect (nor read a token).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./cli";

/** The command tree of issue 15, plus enable/update/delete of CAs and token get. */
const TREE: Record<string, string[]> = {
  ca: [
    "create-root",
    "create-intermediate",
    "create-external",
    "import",
    "list",
    "get",
    "disable",
    "enable",
    "update",
    "revoke",
    "crl",
    "delete",
  ],
  policy: ["create", "list", "get", "update", "delete"],
  profile: [
    "create",
    "list",
    "get",
    "update",
    "delete",
    "acme-key",
    "acme-keys",
    "revoke-acme-key",
    "acme-accounts",
    "revoke-acme-account",
  ],
  cert: ["issue", "renew", "revoke", "release", "get", "list", "watch"],
  request: ["list", "status", "approve", "reject"],
  token: ["create", "list", "get", "revoke"],
  audit: ["list"],
};

describe("certmint --help", () => {
  it("lists every command, and each command lists its subcommands", async () => {
    const root = await runCli(["--help"]);
    expect(root.code).toBe(0);
    expect(root.stdout).toContain("Usage: certmint <command> <subcommand> [options]");
    for (const group of Object.keys(TREE))
      expect(root.stdout).toMatch(new RegExp(`^  ${group} `, "m"));
    expect(root.stdout).toContain("--server HOST:PORT");
    await Promise.all(
      Object.entries(TREE).map(async ([group, commands]) => {
        const r = await runCli([group, "--help"]);
        expect(r.code, r.stderr).toBe(0);
        const listed = [...r.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
        expect(listed).toEqual(commands);
      }),
    );
  });

  it("every subcommand has its own --help: usage, options and the connection options", async () => {
    for (const [group, commands] of Object.entries(TREE)) {
      const results = await Promise.all(commands.map((c) => runCli([group, c, "--help"])));
      results.forEach((r, i) => {
        const where = `${group} ${commands[i]}`;
        expect(r.code, `${where}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toContain(`Usage: certmint ${where}`);
        expect(r.stdout).toContain("-o, --output FORMAT");
        expect(r.stdout).toContain("--token-file FILE");
        expect(r.stderr).toBe("");
      });
    }
  });

  it("help in the other spellings: -h, `certmint help ca create-root`", async () => {
    const short = await runCli(["ca", "create-root", "-h"]);
    const word = await runCli(["help", "ca", "create-root"]);
    expect(short.code).toBe(0);
    expect(word.stdout).toBe(short.stdout);
    expect(short.stdout).toContain("--max-path-length N");
  });

  it("documents the options the proto offers", async () => {
    const help = async (...args: string[]) => (await runCli([...args, "--help"])).stdout;
    expect(await help("ca", "create-intermediate")).toMatch(
      /--permit-dns NAME[\s\S]*--exclude-uri-host HOST/,
    );
    expect(await help("policy", "create")).toMatch(
      /--preset PRESET[\s\S]*tls-server[\s\S]*--allow-dns PATTERN[\s\S]*--allow-wildcard-names[\s\S]*--subject-names-in-sans MODE/,
    );
    expect(await help("profile", "update")).toMatch(
      /--allow-shared-renewal, --no-allow-shared-renewal[\s\S]*--allow-self-approval, --no-allow-self-approval/,
    );
    expect(await help("token", "create")).toMatch(
      /--bind-type TYPE[\s\S]*uri-san, dns-san,\s+common-name/,
    );
    expect(await help("ca", "revoke")).toContain("key-compromise");
  });
});

describe("certmint --version", () => {
  // Until stop 41 of 2026-12-06 a usage error (an outside probe).
  it("prints package.json's version, exit 0", async () => {
    const { version } = JSON.parse(
      readFileSync(join(__dirname, "..", "..", "package.json"), "utf8"),
    );
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`certmint ${version}\n`);
    expect(r.stderr).toBe("");
  });

  it("with a command it is a usage error, and the command does not run", async () => {
    // A review of stop 41: `cert revoke X --version` ran the revocation.
    for (const args of [
      ["ca", "list", "--version"],
      ["cert", "revoke", "0123", "--version"],
      ["--version", "--help"],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("--version takes no command or other option");
    }
  });
});

describe("usage errors", () => {
  it("no command: the overview on stderr, exit 2", async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("Usage: certmint <command>");
    expect(r.stderr).toContain("certmint: missing command");
  });

  it("an unknown command, subcommand or option, a bad value: one line, exit 2", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["certs", "list"], /unknown command "certs"/],
      [["ca", "make"], /unknown subcommand "ca make"; run 'certmint ca --help'/],
      [["ca", "list", "--bogus"], /Unknown option '--bogus'/],
      [
        ["ca", "list", "--status", "sleeping"],
        /--status: "sleeping" is not one of active, disabled, pending-certificate/,
      ],
      [["cert", "issue", "--profile", "web", "--ttl", "soon"], /--ttl: "soon" is not a duration/],
      [["ca", "get"], /missing CA/],
      [["ca", "get", "a", "b"], /unexpected argument "b"/],
      [
        ["cert", "issue", "--profile", "web", "--csr", "x.csr", "--dns", "a.example.com"],
        /--dns and --csr contradict each other/,
      ],
      [["ca", "list", "--insecure", "--ca-file", "ca.pem"], /--insecure \(plaintext\) contradicts/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(" ")).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
  });

  it("cert watch: one scope at a time, and --out-dir only for a certificate's lineage", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["cert", "watch", "0a1b", "--profile", "web"], /name a CERTIFICATE or --profile, not both/],
      [
        ["cert", "watch", "--profile", "web", "--out-dir", "tls"],
        /--out-dir .*name the CERTIFICATE/,
      ],
      [["cert", "watch", "--output", "pem"], /--output/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(" ")).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
  });
});
