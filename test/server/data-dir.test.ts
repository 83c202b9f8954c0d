/**
 * Issue 10 item 14: a data directory other users can write to was accepted silently. It
 * holds the key-encryption key (a new database seals its CA keys with whatever kek.key holds),
 * the first admin token and the embedded database. src/data-dir.ts: writable by others or
 * owned by someone else is refused (one line, exit 2) before anything is opened or written;
 * readable by others is fixed to 0700 (secrets in it to 0600) with a warning.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import {
  ROOT,
  START_LIMIT_MS,
  startServerProcess,
  withoutFileOverride,
} from "../support/server-process";

const isRoot = process.getuid?.() === 0;
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** Starts the compiled server as `make run` does, for a start that must fail; returns at exit. */
function startExpectingExit(env: Record<string, string>, unprivileged = false) {
  const [command, args] = withoutFileOverride(unprivileged, {
    command: process.execPath,
    args: ["dist/src/main.js"],
  });
  const r = spawnSync(command, args, {
    cwd: ROOT,
    env: { ...process.env, CERTMINT_LISTEN: "127.0.0.1:0", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe("the data directory's permissions at start-up", { timeout: 2 * START_LIMIT_MS }, () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  const newDir = (mode: number) => {
    const dir = mkdtempSync(join(tmpdir(), "certmint-datadir-"));
    dirs.push(dir);
    chmodSync(dir, mode);
    return dir;
  };
  const publicTables = async () =>
    (
      await db.query<{ n: number }>(
        "select count(*)::int as n from information_schema.tables where table_schema = 'public'",
      )
    )[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  // Planting the file as another user needs root (runuser); CI runs the tests as root.
  it.skipIf(!isRoot)(
    "refuses a world-writable directory in which another user planted a key-encryption key, and writes nothing",
    async () => {
      const dir = newDir(0o777);
      const planted = spawnSync(
        "runuser",
        ["-u", "nobody", "--", "sh", "-c", `head -c 32 /dev/urandom > ${join(dir, "kek.key")}`],
        { encoding: "utf8" },
      );
      expect(planted.status, planted.stderr).toBe(0);

      const run = startExpectingExit({ CERTMINT_DATA_DIR: dir, DATABASE_URL: db.url });
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(
          /^certmint: CERTMINT_DATA_DIR=.* is writable by other users \(mode 0777\).*refusing to start/,
        ),
      ]);
      expect(readdirSync(dir)).toEqual(["kek.key"]); // no admin token, no database files
      expect(modeOf(dir)).toBe("777"); // left for the operator to inspect
      expect(await publicTables()).toBe(0); // not even migrated
    },
  );

  // Found by an outside probe (2026-12-05): these failed later, as errno text and exit 1, and
  // a directory named kek.key was chmod'ed 0600 and a whole database made before the failure.
  it.each([
    [
      "kek.key",
      "directory",
      /kek\.key is a directory, not a file: certmint keeps the key-encryption key there; move it away$/,
    ],
    [
      "admin-token",
      "directory",
      /admin-token is a directory, not a file: certmint keeps the first admin token there/,
    ],
    ["embedded.pid", "directory", /embedded\.pid is a directory, not a file/],
    [
      "pglite",
      "file",
      /pglite is a file, not a directory: certmint keeps the embedded database there; move it away$/,
    ],
  ])(
    "refuses %s as a %s in it with one line, exit 2, before anything is made",
    (name, kind, message) => {
      const dir = newDir(0o700);
      const entry = join(dir, name);
      if (kind === "directory") mkdirSync(entry, { mode: 0o755 });
      else writeFileSync(entry, "x");
      const run = startExpectingExit({ CERTMINT_DATA_DIR: dir, DATABASE_URL: "" });
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(message)]);
      expect(readdirSync(dir)).toEqual([name]); // no database, no token, no key made
      expect(modeOf(entry)).toBe(kind === "directory" ? "755" : "644"); // not chmod'ed as a secret
    },
  );

  // As root only the bounding set can take away root's bypass of file modes (setpriv).
  it("refuses a directory its own user may not write, with one line, exit 2", () => {
    const dir = newDir(0o500);
    const run = startExpectingExit({ CERTMINT_DATA_DIR: dir, DATABASE_URL: "" }, true);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^certmint: CERTMINT_DATA_DIR=.* must be readable, writable and searchable by uid \d+ that certmint runs as \(it is mode 0500\); chmod 700 it$/,
      ),
    ]);
    chmodSync(dir, 0o700);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a group-writable directory", async () => {
    const dir = newDir(0o770);
    const run = startExpectingExit({ CERTMINT_DATA_DIR: dir, DATABASE_URL: db.url });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/is writable by other users \(mode 0770\)/);
    expect(readdirSync(dir)).toEqual([]);
    expect(await publicTables()).toBe(0);
  });

  it.skipIf(!isRoot)("refuses a directory that belongs to another user", async () => {
    const dir = newDir(0o700);
    chownSync(dir, 65534, 65534); // nobody
    const run = startExpectingExit({ CERTMINT_DATA_DIR: dir, DATABASE_URL: db.url });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/belongs to uid 65534, not to uid 0/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a key-encryption key file outside it that others can write to", async () => {
    const dir = newDir(0o700);
    const kekDir = newDir(0o755);
    const kekFile = join(kekDir, "kek.key");
    writeFileSync(kekFile, Buffer.alloc(32, 7));
    chmodSync(kekFile, 0o666);
    const run = startExpectingExit({
      CERTMINT_DATA_DIR: dir,
      CERTMINT_KEK_FILE: kekFile,
      DATABASE_URL: db.url,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/CERTMINT_KEK_FILE=.* is writable by other users \(mode 0666\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("makes a directory that others can only read 0700, and its secrets 0600, with a warning each", async () => {
    const dir = newDir(0o700);
    const first = await startServerProcess({ CERTMINT_DATA_DIR: dir, DATABASE_URL: db.url });
    const code = await first.stop();
    expect(code, first.output()).toBe(0);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, "admin-token"), 0o644);
    chmodSync(join(dir, "kek.key"), 0o640);

    const second = await startServerProcess({ CERTMINT_DATA_DIR: dir, DATABASE_URL: db.url });
    try {
      expect(modeOf(dir)).toBe("700");
      expect(modeOf(join(dir, "admin-token"))).toBe("600");
      expect(modeOf(join(dir, "kek.key"))).toBe("600");
      const warnings = second
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{") && JSON.parse(l).level === 40)
        .map((l) => JSON.parse(l) as { msg: string; mode: string });
      expect(warnings).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            mode: "0755",
            msg: expect.stringMatching(/changed it to mode 0700/),
          }),
          expect.objectContaining({
            mode: "0644",
            msg: expect.stringMatching(/changed it to mode 0600/),
          }),
          expect.objectContaining({
            mode: "0640",
            msg: expect.stringMatching(/changed it to mode 0600/),
          }),
        ]),
      );
    } finally {
      await second.stop();
    }
  });
});
