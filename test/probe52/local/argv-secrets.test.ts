/**
 * Probe 52 (LOCAL): secrets in a process's command line. On Linux every local user reads every
 * process's argv (`ps`, /proc/PID/cmdline, world-readable unless /proc is mounted hidepid), so
 * README "The certmint CLI" says "No option takes a token on the command line, where `ps` would
 * show it". The README's own grpcurl and curl recipes must keep to that too: they are what an
 * operator pastes. Here the README's watch recipe ("Server-driven renewal and watching
 * certificates": `TOKEN=$(cat data/admin-token)` and `G() { grpcurl -H "authorization: Bearer
 * $TOKEN" ... }`, then a `WatchCertificates` that runs for as long as one watches) is run as
 * written against a live server, and another user (`nobody`) reads the grpcurl process's argv.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliSession, cliSession } from "../../cli/cli";
import { type ServerOnDatabase, startOnFreshDatabase, stopOnDatabase } from "../../probe49/live";
import { ROOT } from "../../support/server-process";
import { waitFor } from "../../support/wait";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const GRPCURL = join(ROOT, ".tools", "bin", "grpcurl");

/** The README's shell blocks (```sh), each as its lines. */
function shellBlocks(): string[][] {
  return [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split("\n"));
}

/** The lines of the README's watch recipe that set TOKEN and define G, as written. */
function watchRecipePrelude(): string[] {
  const block = shellBlocks().find((lines) =>
    lines.some((l) => l.includes("certmint.v1.CertificateService/WatchCertificates")),
  );
  if (!block) throw new Error("README: no shell block runs WatchCertificates");
  const prelude = block.filter((l) => /^(export )?TOKEN=|^G\(\)/.test(l));
  expect(prelude.length).toBeGreaterThanOrEqual(2);
  return prelude;
}

/** The pids of `pid`'s children. */
function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

describe("probe52 local: documented commands keep secrets out of argv", () => {
  let live: ServerOnDatabase;
  let cli: CliSession;
  let certificateId: string;
  let watch: ChildProcess | undefined;

  beforeAll(async () => {
    live = await startOnFreshDatabase({}, "certmint_p52argv");
    cli = cliSession(live.server.address, live.server.dataDir);
    for (const args of [
      ["ca", "create-root", "r1", "--cn", "Probe52 Argv Root"],
      [
        "profile",
        "create",
        "web",
        "--ca",
        "r1",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
      ],
    ]) {
      const r = await cli.run(args);
      if (r.code !== 0) throw new Error(`${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    }
    const issued = await cli.json<{ certificate: { certificateId: string } }>([
      "cert",
      "issue",
      "--profile",
      "web",
      "--dns",
      "svc.example.com",
    ]);
    certificateId = issued.certificate.certificateId;
  }, 240_000);

  afterAll(async () => {
    // Only the process group this test started (detached: its own group).
    if (watch?.pid && watch.exitCode === null) process.kill(-watch.pid, "SIGTERM");
    cli?.remove();
    if (live) await stopOnDatabase([], live);
  });

  it("the README's grpcurl watch does not show the admin token to another local user", async () => {
    const token = live.server.adminToken();
    const script = [
      ...watchRecipePrelude().map((l) =>
        l.replaceAll("data/admin-token", join(live.server.dataDir, "admin-token")),
      ),
      `G -d '{"certificate_id":"${certificateId}"}' ${live.server.address} certmint.v1.CertificateService/WatchCertificates`,
    ].join("\n");
    watch = spawn("bash", ["-c", script], {
      cwd: ROOT,
      detached: true,
      env: { PATH: `${join(ROOT, ".tools", "bin")}:${process.env.PATH ?? ""}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    watch.stdout?.on("data", (d) => {
      out += d;
    });
    watch.stderr?.on("data", (d) => {
      out += d;
    });
    // The watch is open: its first event (CURRENT) has arrived.
    await waitFor("the watch's CURRENT event", () => out.includes("CURRENT"), 60_000);
    const shell = watch.pid!;
    const grpcurl = childrenOf(shell).find((pid) =>
      readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("grpcurl"),
    );
    expect(grpcurl, `grpcurl under bash ${shell}; output:\n${out}`).toBeDefined();
    // What `ps -ef` shows any other user.
    const seen = execFileSync(
      "runuser",
      ["-u", "nobody", "--", "cat", `/proc/${grpcurl}/cmdline`],
      {
        encoding: "utf8",
      },
    ).replaceAll("\0", " ");
    expect(seen).toContain(GRPCURL.split("/").pop());
    expect(seen).not.toContain(token);
  });

  it("no documented shell command splices a bearer secret into a program's arguments", () => {
    // `-H "authorization: Bearer $TOKEN"` (or `$(cat file)`) is expanded by the shell into argv;
    // grpcurl's -expand-headers with '${TOKEN}', or curl's -H @file, keep it out.
    const offending = shellBlocks()
      .flat()
      .filter((l) => /bearer\s+\$(\(|\{?[A-Za-z_])/i.test(l) && !/'[^']*bearer\s+\$\{/i.test(l));
    const prose = README.split("\n").filter((l) => /`[^`]*-H "Authorization: Bearer \$\(/i.test(l));
    expect([...offending, ...prose]).toEqual([]);
  });
});
