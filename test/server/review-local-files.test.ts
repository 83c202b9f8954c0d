/**
 * Review of what another local user can reach through the data directory (src/data-dir.ts).
 * Its own mode (0700) kept others out of it, but not out of the directories above it: until
 * 2026-12-03 (fifth stop) a data directory inside a directory another user owns or may write to
 * (e.g. CERTMINT_DATA_DIR=/tmp/certmint/data with /tmp/certmint made by someone else), or reached
 * through a symbolic link another user owns, was accepted. That user can rename it away and put
 * their own in its place (their kek.key, their database with their admin token) while certmint
 * runs or before it starts again. The embedded database's files are 0666 (PGlite writes them
 * so): a data directory found open to others with pglite/ open too was "fixed" with a warning,
 * though anyone could have changed the database; so was a kek.key others could write.
 * secureDataDir is called directly (main.ts calls it before anything is opened).
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { secureDataDir } from "../../src/data-dir";

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const modeOf = (path: string) => (statSync(path).mode & 0o7777).toString(8);

const base = mkdtempSync(join(tmpdir(), "certmint-review-files-"));
// Searchable by others: the directories made below play the parts of shared ones.
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

let dirs = 0;
/** A new directory under the test's base directory, with `mode` (umask ignored). */
function newDir(mode: number, parent = base): string {
  const dir = join(parent, `d${++dirs}`);
  mkdirSync(dir);
  chmodSync(dir, mode);
  return dir;
}

/** secureDataDir for these settings; the warnings it logged. */
function secure(env: Record<string, string>): Array<{ msg: string } & Record<string, unknown>> {
  const lines: Array<{ msg: string } & Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (l: string) => lines.push(JSON.parse(l)) });
  secureDataDir(loadConfig({ DATABASE_URL: "postgresql://x@127.0.0.1/x", ...env }), logger);
  return lines.filter((l) => l.level === 40);
}
const refusal = (env: Record<string, string>) => {
  try {
    secure(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("accepted");
};

describe("the directories above the data directory", () => {
  // chown/lchown to nobody and runuser need root; CI runs the tests as root.
  it.skipIf(!isRoot)(
    "refuses a data directory inside a directory another user owns, who could swap it",
    () => {
      const theirs = newDir(0o755);
      chownSync(theirs, NOBODY, NOBODY);
      const data = newDir(0o700, theirs);
      // What that user can do: rename certmint's directory away (and make their own).
      const swap = spawnSync(
        "runuser",
        ["-u", "nobody", "--", "sh", "-c", `mv ${data} ${data}.old && mv ${data}.old ${data}`],
        { encoding: "utf8" },
      );
      expect(swap.status, swap.stderr).toBe(0);

      expect(refusal({ CERTMINT_DATA_DIR: data })).toMatch(
        new RegExp(
          `^CERTMINT_DATA_DIR=${data}: ${theirs} belongs to uid ${NOBODY}.*refusing to start`,
        ),
      );
    },
  );

  it("refuses a data directory inside a directory anyone may write to without the sticky bit", () => {
    const open = newDir(0o777);
    const data = newDir(0o700, open);
    expect(refusal({ CERTMINT_DATA_DIR: data })).toMatch(
      /: .* is writable by other users \(mode 0777\) and without the sticky bit.*refusing to start/,
    );
    // Not created either when missing.
    expect(refusal({ CERTMINT_DATA_DIR: join(open, "new") })).toMatch(/mode 0777/);
  });

  it.skipIf(!isRoot)(
    "refuses a data directory reached through a symbolic link another user owns in a sticky directory",
    () => {
      const sticky = newDir(0o1777);
      const data = newDir(0o700);
      const link = join(sticky, "certmint-data");
      symlinkSync(data, link);
      lchownSync(link, NOBODY, NOBODY);
      expect(refusal({ CERTMINT_DATA_DIR: link })).toMatch(
        new RegExp(`${link} belongs to uid ${NOBODY} in ${sticky}.*refusing to start`),
      );
      // A symbolic link of certmint's own user there is followed (its owner alone may replace it).
      const mine = join(sticky, "mine");
      symlinkSync(data, mine);
      expect(secure({ CERTMINT_DATA_DIR: mine })).toEqual([]);
    },
  );

  it.skipIf(!isRoot)(
    "refuses a data directory behind a symbolic link whose target lies in a directory another user owns",
    () => {
      const theirs = newDir(0o755);
      chownSync(theirs, NOBODY, NOBODY);
      const data = newDir(0o700, theirs);
      const link = join(newDir(0o700), "data");
      symlinkSync(data, link);
      expect(refusal({ CERTMINT_DATA_DIR: link })).toMatch(
        new RegExp(`${theirs} belongs to uid ${NOBODY}`),
      );
    },
  );

  it("accepts the usual places: under the system's temporary directory, or a sticky one", () => {
    const data = join(base, "usual");
    expect(secure({ CERTMINT_DATA_DIR: data })).toEqual([]);
    expect(modeOf(data)).toBe("700");
    const sticky = newDir(0o1777);
    expect(secure({ CERTMINT_DATA_DIR: join(sticky, "data") })).toEqual([]);
  });

  it("warns about a group-writable directory above it, and starts", () => {
    const shared = newDir(0o2770);
    const warnings = secure({ CERTMINT_DATA_DIR: join(shared, "data") });
    expect(warnings).toEqual([
      expect.objectContaining({
        directory: shared,
        mode: "02770",
        msg: expect.stringMatching(/writable by its group/),
      }),
    ]);
  });

  it("creates the data directory 0700 whatever the umask", () => {
    for (const mask of [0o000, 0o077, 0o022]) {
      const previous = process.umask(mask);
      try {
        const data = join(base, `umask-${mask.toString(8)}`);
        secure({ CERTMINT_DATA_DIR: data });
        expect(modeOf(data)).toBe("700");
      } finally {
        process.umask(previous);
      }
    }
  });
});

describe("a key-encryption key file outside the data directory (CERTMINT_KEK_FILE)", () => {
  it.skipIf(!isRoot)(
    "is refused in a directory another user owns, or when another user owns it",
    () => {
      const data = newDir(0o700);
      const theirs = newDir(0o755);
      chownSync(theirs, NOBODY, NOBODY);
      const kek = join(theirs, "kek.key");
      writeFileSync(kek, Buffer.alloc(32, 7), { mode: 0o600 });
      expect(refusal({ CERTMINT_DATA_DIR: data, CERTMINT_KEK_FILE: kek })).toMatch(
        new RegExp(`^CERTMINT_KEK_FILE=${kek}: ${theirs} belongs to uid ${NOBODY}`),
      );
      // Even one that does not exist yet (it would be created there).
      expect(
        refusal({ CERTMINT_DATA_DIR: data, CERTMINT_KEK_FILE: join(theirs, "new.key") }),
      ).toMatch(new RegExp(`${theirs} belongs to uid ${NOBODY}`));

      const mine = newDir(0o755);
      const owned = join(mine, "kek.key");
      writeFileSync(owned, Buffer.alloc(32, 7), { mode: 0o600 });
      chownSync(owned, NOBODY, NOBODY);
      expect(refusal({ CERTMINT_DATA_DIR: data, CERTMINT_KEK_FILE: owned })).toMatch(
        new RegExp(`^CERTMINT_KEK_FILE=${owned} belongs to uid ${NOBODY}.*refusing to start`),
      );
    },
  );

  it("is accepted as a mounted secret usually is (root's or ours, not writable by others)", () => {
    const data = newDir(0o700);
    const secrets = newDir(0o755);
    const kek = join(secrets, "kek.key");
    writeFileSync(kek, Buffer.alloc(32, 7), { mode: 0o400 });
    expect(secure({ CERTMINT_DATA_DIR: data, CERTMINT_KEK_FILE: kek })).toEqual([]);
  });
});

describe("a data directory found open to other users", () => {
  it("is refused, not fixed, when the embedded database in it was open too (its files are 0666)", () => {
    const data = newDir(0o755);
    const pglite = join(data, "pglite");
    mkdirSync(pglite);
    chmodSync(pglite, 0o755);
    writeFileSync(join(pglite, "PG_VERSION"), "17\n");
    chmodSync(join(pglite, "PG_VERSION"), 0o666);
    expect(refusal({ CERTMINT_DATA_DIR: data, DATABASE_URL: "" })).toMatch(
      /the embedded database .*pglite was open to other users.*refusing to start/,
    );
    // Left for the operator to look at.
    expect(modeOf(data)).toBe("755");
    expect(modeOf(pglite)).toBe("755");
  });

  it("is refused, not fixed, when others could write its kek.key", () => {
    const data = newDir(0o755);
    const kek = join(data, "kek.key");
    writeFileSync(kek, Buffer.alloc(32, 7));
    chmodSync(kek, 0o666);
    expect(refusal({ CERTMINT_DATA_DIR: data })).toMatch(
      /kek\.key could be written by other users \(mode 0666, the directory 0755\).*refusing to start/,
    );
    expect(modeOf(kek)).toBe("666");
  });

  it("is fixed with a warning when nothing in it could have been changed", () => {
    const data = newDir(0o755);
    // The embedded database as certmint leaves it: pglite/ 0700 (its files 0666 inside).
    const pglite = join(data, "pglite");
    mkdirSync(pglite);
    chmodSync(pglite, 0o700);
    writeFileSync(join(pglite, "PG_VERSION"), "17\n");
    chmodSync(join(pglite, "PG_VERSION"), 0o666);
    const kek = join(data, "kek.key");
    writeFileSync(kek, Buffer.alloc(32, 7));
    chmodSync(kek, 0o644);
    const warnings = secure({ CERTMINT_DATA_DIR: data, DATABASE_URL: "" });
    expect(warnings.map((w) => w.msg)).toEqual([
      expect.stringMatching(/changed it to mode 0700/),
      expect.stringMatching(/changed it to mode 0600/),
    ]);
    expect(modeOf(data)).toBe("700");
    expect(modeOf(kek)).toBe("600");
  });
});

describe("the TLS files (CERTMINT_TLS_*: read again every 30 s)", () => {
  /** A certificate and key (any pair: the check is of their paths, before they are read). */
  const pair = (dir: string) => {
    const cert = join(dir, "server.crt");
    const key = join(dir, "server.key");
    writeFileSync(cert, "certificate\n");
    writeFileSync(key, "key\n", { mode: 0o600 });
    return { CERTMINT_TLS_CERT_FILE: cert, CERTMINT_TLS_KEY_FILE: key };
  };

  it.skipIf(!isRoot)(
    "are refused in a directory another user owns (they could swap the server's key and certificate)",
    () => {
      const theirs = newDir(0o755);
      chownSync(theirs, NOBODY, NOBODY);
      const data = newDir(0o700);
      expect(refusal({ CERTMINT_DATA_DIR: data, ...pair(theirs) })).toMatch(
        new RegExp(`^CERTMINT_TLS_CERT_FILE=.*: ${theirs} belongs to uid ${NOBODY}`),
      );
      const mine = newDir(0o755);
      const files = pair(mine);
      chownSync(files.CERTMINT_TLS_KEY_FILE, NOBODY, NOBODY);
      expect(refusal({ CERTMINT_DATA_DIR: data, ...files })).toMatch(
        new RegExp(`^CERTMINT_TLS_KEY_FILE=.* belongs to uid ${NOBODY}.*refusing to start`),
      );
    },
  );

  it("are accepted where only root or certmint's user can change them", () => {
    const data = newDir(0o700);
    expect(secure({ CERTMINT_DATA_DIR: data, ...pair(newDir(0o755)) })).toEqual([]);
  });

  // Regression test for a bug once in src/data-dir.ts: the ACME listener's own pair went unchecked.
  it.skipIf(!isRoot)("the ACME listener's own pair is checked the same way", () => {
    const data = newDir(0o700);
    const files = pair(newDir(0o755));
    chownSync(files.CERTMINT_TLS_KEY_FILE, NOBODY, NOBODY);
    expect(
      refusal({
        CERTMINT_DATA_DIR: data,
        CERTMINT_ACME_LISTEN: "127.0.0.1:0",
        CERTMINT_ACME_TLS_CERT_FILE: files.CERTMINT_TLS_CERT_FILE,
        CERTMINT_ACME_TLS_KEY_FILE: files.CERTMINT_TLS_KEY_FILE,
      }),
    ).toMatch(
      new RegExp(`^CERTMINT_ACME_TLS_KEY_FILE=.* belongs to uid ${NOBODY}.*refusing to start`),
    );
  });
});
