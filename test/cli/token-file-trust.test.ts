/**
 * The CLI sends a token only from a file no other local user could have written or replaced
 * (probe39 F2): a ./data/admin-token another user planted in the working directory (their own
 * issuer token: the operator's certificates and generated keys would then be theirs), the
 * admin token of a data directory others can write to, and a --token-file of another user or
 * writable by others are refused with one line and exit code 2, before anything is sent. The
 * planted token here is a real issuer token, so a command that used it would succeed: no
 * certificate with the command's name exists afterwards. Files of root stay trusted for any user,
 * as for the server's own files. chown to nobody needs root; CI runs the tests as root.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { CLI, type CliResult, ok, runCli } from "./cli";

const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;

const IMPLICIT_REMEDY =
  "pass --token-file FILE or set CERTMINT_TOKEN, or use a data directory only you (or root) can change";
const EXPLICIT_REMEDY =
  "keep the token in a file only you (or root) can change: chown it to yourself, chmod 600 it, in a directory others cannot write";

describe.skipIf(!isRoot)("token files another user could have written", () => {
  let h: TestCertmint;
  let base: string;
  /** A real issuer token on profile web: what another user would plant. */
  let planted: string;
  /** Where cert issue writes its files: root's. */
  let out: string;
  const TMP = realpathSync(tmpdir());

  /** An empty working directory of root's, mode 0700. */
  const workdir = () => mkdtempSync(join(base, "work-"));
  /** <dir>/data/admin-token holding `secret`, data/ 0700 and the file 0600, root's. */
  const dataDirIn = (dir: string, secret: string) => {
    const data = join(dir, "data");
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(data, "admin-token"), `${secret}\n`, { mode: 0o600 });
    return data;
  };
  /**
   * cert issue of `name` in `cwd`, its files written into `out` (root's): the working directory
   * may be another user's, and files are checked (trusted-path.ts) before the token is read.
   */
  const issue = (name: string, cwd: string, more: readonly string[] = []) => {
    const files = ["crt", "chain", "key"].flatMap((ext) => [
      `--${ext === "crt" ? "cert" : ext}-out`,
      join(out, `${name}.${ext}`),
    ]);
    return runCli(
      [
        "--server",
        h.address,
        ...more,
        "cert",
        "issue",
        "--profile",
        "web",
        "--dns",
        name,
        ...files,
      ],
      { cwd },
    );
  };
  /** The certificates whose names contain `name`, as the admin sees them. */
  const certificatesNamed = async (name: string) => {
    const r = ok(
      await runCli(
        [
          "--server",
          h.address,
          "--data-dir",
          h.dataDir,
          "cert",
          "list",
          "--name-contains",
          name,
          "-o",
          "json",
        ],
        { cwd: base },
      ),
    );
    return (JSON.parse(r.stdout) as { certificates?: unknown[] }).certificates ?? [];
  };
  /** Refused with exactly `message`, exit code 2, and nothing issued or written in `cwd`. */
  const expectRefused = async (
    r: CliResult,
    message: string,
    name: string,
    cwd: string,
    entries: string[],
  ) => {
    expect(r.stderr).toBe(`certmint: ${message}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(await certificatesNamed(name)).toEqual([]);
    expect(readdirSync(cwd).sort()).toEqual(entries);
  };

  beforeAll(async () => {
    h = await startTestCertmint();
    base = realpathSync(mkdtempSync(join(tmpdir(), "certmint-token-trust-")));
    out = mkdtempSync(join(base, "out-"));
    const admin = ["--server", h.address, "--data-dir", h.dataDir];
    ok(await runCli([...admin, "ca", "create-root", "root", "--cn", "Root"], { cwd: base }));
    ok(
      await runCli(
        [
          ...admin,
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
        { cwd: base },
      ),
    );
    const secretFile = join(base, "planted.token");
    ok(
      await runCli(
        [
          ...admin,
          "token",
          "create",
          "planted",
          "--role",
          "issuer",
          "--profile",
          "web",
          "--secret-out",
          secretFile,
        ],
        { cwd: base },
      ),
    );
    planted = readFileSync(secretFile, "utf8").trim();
    // Searchable by nobody, who runs the CLI in a directory below it in the last test.
    chmodSync(base, 0o755);
  });
  afterAll(async () => {
    if (base) rmSync(base, { recursive: true, force: true });
    await h?.stop();
  });

  it("./data/admin-token in a working directory another user owns in /tmp (probe39 F2): refused, nothing sent", async () => {
    // What the probe did as probeuser: mkdir -p /tmp/p39pwn/data, the token, chmod 777.
    const work = mkdtempSync(join(TMP, "certmint-planted-"));
    try {
      const data = dataDirIn(work, planted);
      for (const path of [work, data, join(data, "admin-token")]) chownSync(path, NOBODY, NOBODY);
      chmodSync(work, 0o777);
      await expectRefused(
        await issue("planted-tmp.example.com", work),
        `the admin token ${work}/data/admin-token (from ./data, the default data directory): ${work} belongs to uid ${NOBODY} in ${TMP}, which others may write to: its owner can replace it; not using it; ${IMPLICIT_REMEDY}`,
        "planted-tmp",
        work,
        ["data"],
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("a working directory, data directory or admin-token of another user, or one others can write: refused", async () => {
    // The working directory is theirs (not in a sticky directory).
    const theirs = join(workdir(), "project");
    mkdirSync(theirs);
    dataDirIn(theirs, planted);
    chownSync(theirs, NOBODY, NOBODY);
    await expectRefused(
      await issue("planted-cwd.example.com", theirs),
      `the admin token ${theirs}/data/admin-token (from ./data, the default data directory): ${theirs} belongs to uid ${NOBODY}, who can replace ${theirs}/data with their own; not using it (use a directory whose parents belong to root or to uid 0); ${IMPLICIT_REMEDY}`,
      "planted-cwd",
      theirs,
      ["data"],
    );

    // Only the file is theirs.
    const fileTheirs = workdir();
    chownSync(join(dataDirIn(fileTheirs, planted), "admin-token"), NOBODY, NOBODY);
    await expectRefused(
      await issue("planted-file.example.com", fileTheirs),
      `the admin token ${fileTheirs}/data/admin-token (from ./data, the default data directory) belongs to uid ${NOBODY}, who can replace it; not using it; ${IMPLICIT_REMEDY}`,
      "planted-file",
      fileTheirs,
      ["data"],
    );

    // Root's, but anyone (or the group) may write the file.
    for (const [mode, who] of [
      [0o666, "other users"],
      [0o620, "its group"],
    ] as const) {
      const open = workdir();
      chmodSync(join(dataDirIn(open, planted), "admin-token"), mode);
      await expectRefused(
        await issue("planted-mode.example.com", open),
        `the admin token ${open}/data/admin-token (from ./data, the default data directory) is writable by ${who} (mode 0${mode.toString(8)}): they could have put their own token in it; not using it; ${IMPLICIT_REMEDY}`,
        "planted-mode",
        open,
        ["data"],
      );
    }

    // A data directory others may write to, named by $CERTMINT_DATA_DIR and by --data-dir.
    const shared = workdir();
    const sharedData = dataDirIn(shared, planted);
    chmodSync(sharedData, 0o777);
    const viaEnv = await runCli(
      [
        "--server",
        h.address,
        "cert",
        "issue",
        "--profile",
        "web",
        "--dns",
        "planted-env.example.com",
      ],
      { cwd: shared, env: { CERTMINT_DATA_DIR: sharedData } },
    );
    await expectRefused(
      viaEnv,
      `the admin token ${sharedData}/admin-token (from $CERTMINT_DATA_DIR): its data directory ${sharedData} is writable by other users (mode 0777): they could have put their own admin-token there; not using it; ${IMPLICIT_REMEDY}`,
      "planted-env",
      shared,
      ["data"],
    );
    chmodSync(sharedData, 0o770);
    await expectRefused(
      await issue("planted-opt.example.com", shared, ["--data-dir", sharedData]),
      `the admin token ${sharedData}/admin-token (from --data-dir): its data directory ${sharedData} is writable by its group (mode 0770): they could have put their own admin-token there; not using it; ${IMPLICIT_REMEDY}`,
      "planted-opt",
      shared,
      ["data"],
    );
  });

  it("--token-file of another user, writable by others, or reached through their directory or link: refused", async () => {
    const dir = workdir();
    const file = join(dir, "their.token");
    writeFileSync(file, `${planted}\n`, { mode: 0o600 });
    chownSync(file, NOBODY, NOBODY);
    await expectRefused(
      await issue("explicit-owner.example.com", dir, ["--token-file", file]),
      `--token-file ${file} belongs to uid ${NOBODY}, who can replace it; not using it; ${EXPLICIT_REMEDY}`,
      "explicit-owner",
      dir,
      ["their.token"],
    );

    const open = join(dir, "open.token");
    writeFileSync(open, `${planted}\n`);
    chmodSync(open, 0o646);
    await expectRefused(
      await issue("explicit-mode.example.com", dir, ["--token-file", open]),
      `--token-file ${open} is writable by other users (mode 0646): they could have put their own token in it; not using it; ${EXPLICIT_REMEDY}`,
      "explicit-mode",
      dir,
      ["open.token", "their.token"],
    );

    // A directory of theirs on the way (the file itself is root's).
    const theirDir = join(workdir(), "secrets");
    mkdirSync(theirDir);
    writeFileSync(join(theirDir, "t"), `${planted}\n`, { mode: 0o600 });
    chownSync(theirDir, NOBODY, NOBODY);
    await expectRefused(
      await issue("explicit-dir.example.com", dir, ["--token-file", join(theirDir, "t")]),
      `--token-file ${theirDir}/t: ${theirDir} belongs to uid ${NOBODY}, who can replace ${theirDir}/t with their own; not using it (use a directory whose parents belong to root or to uid 0); ${EXPLICIT_REMEDY}`,
      "explicit-dir",
      dir,
      ["open.token", "their.token"],
    );

    // Their symbolic link in a sticky directory, to a token file of root's.
    const sticky = join(workdir(), "shared");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const good = join(dir, "good.token");
    writeFileSync(good, `${planted}\n`, { mode: 0o600 });
    const link = join(sticky, "link.token");
    symlinkSync(good, link);
    lchownSync(link, NOBODY, NOBODY);
    await expectRefused(
      await issue("explicit-link.example.com", dir, ["--token-file", link]),
      `--token-file ${link}: ${link} belongs to uid ${NOBODY} in ${sticky}, which others may write to: its owner can replace it; not using it; ${EXPLICIT_REMEDY}`,
      "explicit-link",
      dir,
      ["good.token", "open.token", "their.token"],
    );
  });

  it("the legitimate cases still work: own ./data, own --token-file, $CERTMINT_TOKEN", async () => {
    const clone = workdir();
    dataDirIn(clone, h.adminToken);
    expect(ok(await issue("own-data.example.com", clone)).stdout).toMatch(/^status: +issued$/m);

    const file = join(workdir(), "own.token");
    writeFileSync(file, `${planted}\n`, { mode: 0o600 });
    const dir = workdir();
    expect(ok(await issue("own-file.example.com", dir, ["--token-file", file])).stdout).toMatch(
      /^status: +issued$/m,
    );
    // Root's file through a link of root's in a sticky directory.
    const sticky = join(workdir(), "shared");
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    symlinkSync(file, join(sticky, "link.token"));
    ok(await issue("own-link.example.com", dir, ["--token-file", join(sticky, "link.token")]));

    const env = await runCli(
      ["--server", h.address, "cert", "issue", "--profile", "web", "--dns", "env.example.com"],
      { cwd: workdir(), env: { CERTMINT_TOKEN: planted } },
    );
    expect(ok(env).stdout).toMatch(/^status: +issued$/m);
    expect(await certificatesNamed("own-data")).toHaveLength(1);
    expect(await certificatesNamed("own-file")).toHaveLength(1);
  });

  it("another user trusts a token file of root's and their own, not one of a third user", async () => {
    // nobody runs the CLI in a working directory of their own.
    const home = workdir();
    chmodSync(home, 0o755);
    const work = join(home, "nobody");
    mkdirSync(work);
    chownSync(work, NOBODY, NOBODY);
    const rootsFile = join(home, "root.token");
    writeFileSync(rootsFile, `${planted}\n`, { mode: 0o644 });
    const ownFile = join(work, "own.token");
    writeFileSync(ownFile, `${planted}\n`, { mode: 0o600 });
    chownSync(ownFile, NOBODY, NOBODY);
    const asNobody = (file: string, name: string) =>
      new Promise<CliResult>((resolve, reject) => {
        const child = spawn(
          "runuser",
          [
            "-u",
            "nobody",
            "--",
            process.execPath,
            CLI,
            "--server",
            h.address,
            "--token-file",
            file,
            "cert",
            "issue",
            "--profile",
            "web",
            "--dns",
            name,
          ],
          { cwd: work, env: { PATH: process.env.PATH ?? "", HOME: work } },
        );
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
      });
    expect(ok(await asNobody(rootsFile, "nobody-root.example.com")).stdout).toMatch(
      /^status: +issued$/m,
    );
    expect(ok(await asNobody(ownFile, "nobody-own.example.com")).stdout).toMatch(
      /^status: +issued$/m,
    );
    // A file of a third user (uid 4242) is theirs to change: refused for nobody too.
    const third = join(home, "third.token");
    copyFileSync(rootsFile, third);
    chownSync(third, 4242, 4242);
    const refused = await asNobody(third, "nobody-third.example.com");
    expect(refused.stderr).toBe(
      `certmint: --token-file ${third} belongs to uid 4242, who can replace it; not using it; ${EXPLICIT_REMEDY}\n`,
    );
    expect(refused.code).toBe(2);
    expect(await certificatesNamed("nobody-third")).toEqual([]);
  });
});
