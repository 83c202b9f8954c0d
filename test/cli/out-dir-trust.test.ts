/**
 * The CLI writes keys, certificates, token secrets and CSRs only where no other local user can
 * replace them (probe39 F6): `cert watch --out-dir` refuses a symbolic link or a directory
 * another user planted in /tmp (it replaced cert.pem, key.pem, chain.pem and cursor wherever the
 * link pointed), a directory of another user or one others (or its group) can write to, and a
 * missing one under a directory of another user; `cert issue --key-out`, `token create
 * --secret-out` and `ca create-external --csr-out` refuse such a directory before the server is
 * asked for anything, and so does `cert renew` (until stop 40 of 2026-12-05 only when it wrote
 * its files, after the renewal). One line, exit code 1, nothing
 * written. chown to nobody needs root; CI runs the tests as root.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
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
import { waitFor } from "../support/wait";
import { CLI, type CliResult, ok, runCli } from "./cli";

const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;
const DIR_REMEDY = "use a directory only you can write to (mkdir it, or chmod go-w it)";
const FILE_REMEDY = "name a file in a directory that only you (or root) can change";
const NOT_THEIRS = "(use a directory whose parents belong to root or to uid 0)";

describe.skipIf(!isRoot)("output directories and files another user could replace", () => {
  let h: TestCertmint;
  let base: string;
  let certificateId: string;
  const TMP = realpathSync(tmpdir());
  const cleanup: string[] = [];

  const admin = (args: readonly string[], cwd = base) =>
    runCli(["--server", h.address, "--data-dir", h.dataDir, ...args], { cwd });
  /** A new directory of root's, mode 0700. */
  const rootDir = () => mkdtempSync(join(base, "d-"));
  /** A new directory in /tmp itself, as another user makes one there. */
  const tmpDir = () => {
    const dir = mkdtempSync(join(TMP, "certmint-planted-"));
    cleanup.push(dir);
    return dir;
  };
  /** Refused with exactly `message` and exit code 1. */
  const expectRefused = (r: CliResult, message: string) => {
    expect(r.stderr).toBe(`certmint: ${message}\n`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
  };
  const watch = (outDir: string) =>
    admin(["cert", "watch", certificateId, "--out-dir", outDir], rootDir());
  const notFound = async (args: readonly string[]) => {
    const r = await admin(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: NOT_FOUND: /);
  };

  beforeAll(async () => {
    h = await startTestCertmint();
    base = realpathSync(mkdtempSync(join(tmpdir(), "certmint-out-trust-")));
    ok(await admin(["ca", "create-root", "root", "--cn", "Root"]));
    ok(
      await admin([
        "profile",
        "create",
        "web",
        "--ca",
        "root",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
      ]),
    );
    const issued = JSON.parse(
      ok(
        await admin(
          ["cert", "issue", "--profile", "web", "--dns", "watched.example.com", "-o", "json"],
          rootDir(),
        ),
      ).stdout,
    ) as { certificate: { certificateId: string } };
    certificateId = issued.certificate.certificateId;
  });
  afterAll(async () => {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
    if (base) rmSync(base, { recursive: true, force: true });
    await h?.stop();
  });

  it("cert watch --out-dir through a link another user planted in /tmp (probe39 F6): refused, the target untouched", async () => {
    const victim = rootDir();
    writeFileSync(join(victim, "cert.pem"), "ORIGINAL\n");
    writeFileSync(join(victim, "key.pem"), "ORIGINAL\n");
    const link = join(TMP, `certmint-svc-tls-${process.pid}-${Date.now()}`);
    symlinkSync(victim, link);
    cleanup.push(link);
    lchownSync(link, NOBODY, NOBODY);
    expectRefused(
      await watch(link),
      `--out-dir ${link}: ${link} belongs to uid ${NOBODY} in ${TMP}, which others may write to: its owner can replace it; not writing there; ${DIR_REMEDY}`,
    );
    expect(readdirSync(victim).sort()).toEqual(["cert.pem", "key.pem"]);
    expect(readFileSync(join(victim, "cert.pem"), "utf8")).toBe("ORIGINAL\n");
    expect(readFileSync(join(victim, "key.pem"), "utf8")).toBe("ORIGINAL\n");

    // Their directory in /tmp, as it is.
    const theirs = tmpDir();
    chownSync(theirs, NOBODY, NOBODY);
    expectRefused(
      await watch(theirs),
      `--out-dir ${theirs}: ${theirs} belongs to uid ${NOBODY} in ${TMP}, which others may write to: its owner can replace it; not writing there; ${DIR_REMEDY}`,
    );
    expect(readdirSync(theirs)).toEqual([]);
  });

  it("cert watch --out-dir of another user, open to others or its group, or below their directory: refused", async () => {
    // Below a directory of theirs: refused before it is created.
    const parent = join(rootDir(), "theirs");
    mkdirSync(parent);
    chownSync(parent, NOBODY, NOBODY);
    const below = join(parent, "tls");
    expectRefused(
      await watch(below),
      `--out-dir ${below}: ${parent} belongs to uid ${NOBODY}, who can replace ${below} with their own; not writing there ${NOT_THEIRS}; ${DIR_REMEDY}`,
    );
    expect(existsSync(below)).toBe(false);

    // Theirs, in a directory of root's.
    const owned = join(rootDir(), "tls");
    mkdirSync(owned, { mode: 0o700 });
    chownSync(owned, NOBODY, NOBODY);
    expectRefused(
      await watch(owned),
      `--out-dir ${owned} belongs to uid ${NOBODY}, who can replace the files in it; not writing there; ${DIR_REMEDY}`,
    );
    expect(readdirSync(owned)).toEqual([]);

    // Root's, but others or the group may write to it (sticky or not).
    for (const [mode, who] of [
      [0o777, "other users"],
      [0o1777, "other users"],
      [0o770, "its group"],
    ] as const) {
      const open = join(rootDir(), "tls");
      mkdirSync(open);
      chmodSync(open, mode);
      expectRefused(
        await watch(open),
        `--out-dir ${open} is writable by ${who} (mode 0${mode.toString(8)}): they could replace key.pem, cert.pem or cursor; not writing there; ${DIR_REMEDY}`,
      );
      expect(readdirSync(open)).toEqual([]);
    }
  });

  it("cert watch --out-dir of the user's own, also through their own link in /tmp, writes the files", async () => {
    const target = join(rootDir(), "svc-tls");
    const link = join(TMP, `certmint-own-tls-${process.pid}-${Date.now()}`);
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, link);
    cleanup.push(link);
    const child: ChildProcessWithoutNullStreams = spawn(
      process.execPath,
      [
        CLI,
        "--server",
        h.address,
        "--data-dir",
        h.dataDir,
        "cert",
        "watch",
        certificateId,
        "--out-dir",
        link,
      ],
      { cwd: base, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await waitFor("the watcher to write the certificate, its key and the cursor", () =>
      ["cert.pem", "chain.pem", "key.pem", "cursor"].every((f) => existsSync(join(target, f))),
    );
    child.kill("SIGTERM");
    expect(await exited, stderr).toBe(0);
    expect(stderr).toBe("");
  });

  it("cert issue --key-out, token create --secret-out, ca create-external --csr-out: refused before the server acts", async () => {
    const theirs = join(rootDir(), "theirs");
    mkdirSync(theirs);
    chownSync(theirs, NOBODY, NOBODY);
    const cwd = rootDir();

    const key = join(theirs, "stolen.key");
    expectRefused(
      await admin(
        ["cert", "issue", "--profile", "web", "--dns", "key-out.example.com", "--key-out", key],
        cwd,
      ),
      `cannot write ${key}: ${theirs} belongs to uid ${NOBODY}, who can replace ${key} with their own; not writing it ${NOT_THEIRS}; ${FILE_REMEDY}; nothing was done`,
    );
    const listed = JSON.parse(
      ok(await admin(["cert", "list", "--name-contains", "key-out", "-o", "json"])).stdout,
    ) as { certificates?: unknown[] };
    expect(listed.certificates ?? []).toEqual([]);

    // Root's directory that anyone may write to, without the sticky bit.
    const open = join(rootDir(), "open");
    mkdirSync(open);
    chmodSync(open, 0o777);
    const secret = join(open, "t2.token");
    expectRefused(
      await admin(
        ["token", "create", "t2", "--role", "issuer", "--profile", "web", "--secret-out", secret],
        cwd,
      ),
      `cannot write ${secret}: ${open} is writable by other users (mode 0777) and without the sticky bit: anyone can replace ${secret}; not writing it; ${FILE_REMEDY}; nothing was done`,
    );
    await notFound(["token", "get", "t2"]);

    const csr = join(theirs, "ext.csr");
    expectRefused(
      await admin(["ca", "create-external", "ext", "--cn", "Ext", "--csr-out", csr], cwd),
      `cannot write ${csr}: ${theirs} belongs to uid ${NOBODY}, who can replace ${csr} with their own; not writing it ${NOT_THEIRS}; ${FILE_REMEDY}; nothing was done`,
    );
    await notFound(["ca", "get", "ext"]);
    expect(readdirSync(theirs)).toEqual([]);
    expect(readdirSync(open)).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);

    // /tmp itself is sticky: a new file of one's own there is fine, as before.
    const inTmp = join(TMP, `certmint-t3-${process.pid}-${Date.now()}.token`);
    cleanup.push(inTmp);
    ok(
      await admin(
        ["token", "create", "t3", "--role", "issuer", "--profile", "web", "--secret-out", inTmp],
        cwd,
      ),
    );
    expect(readFileSync(inTmp, "utf8")).toMatch(/^certmint_/);
  });

  it("cert renew in a working directory of another user: the files are refused before anything is renewed", async () => {
    const work = join(rootDir(), "theirs");
    mkdirSync(work);
    chownSync(work, NOBODY, NOBODY);
    const r = await admin(["cert", "renew", certificateId, "--request-id", "renew-theirs"], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^certmint: cannot write watched\\.example\\.com\\.crt: ${work} belongs to uid ${NOBODY}, who can replace ${work}/watched\\.example\\.com\\.crt with their own; not writing it .*; nothing was done\n$`,
      ),
    );
    // Until stop 40 of 2026-12-05 the renewal was made first, its files then refused.
    expect(
      await h.db.query("select id from certificate where renewed_from_id = $1", [certificateId]),
    ).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
  });
});
