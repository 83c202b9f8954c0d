import { statSync } from "node:fs";

/**
 * Where the embedded database's files are, as this server opened them: its `pglite/` directory
 * and its lock file (`embedded.pid`, embedded-lock.ts), each by device and inode.
 *
 * PGlite keeps its files open. A data directory removed under a running server (`rm -rf`, a
 * /tmp cleaner, a volume unmounted) leaves those descriptors writing to unlinked files: until
 * stop 49 of 2026-12-06 the server kept answering OK for certificates and CAs that nothing on
 * disk held, health stayed SERVING, the next start made a new, empty PKI, and with the lock file
 * gone a second server could start on the same path meanwhile (an outside probe). So every
 * answer of the embedded database is held until `changed` says the files are still where they
 * were (embedded-wire.ts); once they are not, the database is failed as after a PANIC: nothing
 * is acknowledged any more, health says NOT_SERVING, and certmint stops.
 *
 * Two stat(2) calls per protocol message: a few microseconds, beside PGlite's tens to hundreds.
 */
export interface EmbeddedPlace {
  /** Why the files are no longer where they were opened, or undefined while they are. */
  changed(): string | undefined;
}

interface Identity {
  path: string;
  what: string;
  dev: number;
  ino: number;
}

export function embeddedPlace(pgDir: string, lockPath: string): EmbeddedPlace {
  const watched = [
    identityOf(pgDir, "its database directory"),
    identityOf(lockPath, "its lock file"),
  ];
  return {
    changed() {
      for (const { path, what, dev, ino } of watched) {
        let now: { dev: number; ino: number };
        try {
          now = statSync(path);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          return code === "ENOENT"
            ? `${what} ${path} was removed while certmint ran`
            : `${what} ${path} cannot be looked at any more (${code ?? "error"})`;
        }
        if (now.dev !== dev || now.ino !== ino) {
          return `${what} ${path} was replaced while certmint ran (another file is at its path)`;
        }
      }
      return undefined;
    },
  };
}

function identityOf(path: string, what: string): Identity {
  const { dev, ino } = statSync(path);
  return { path, what, dev, ino };
}
