import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "pino";
import { isCertmintError } from "../errors";
import {
  type CreateAccessTokenDeps,
  type CreatedAccessToken,
  createAccessToken,
} from "../issuance/access-tokens/create";
import { systemCall } from "../issuance/call";
import type { AccessTokenRepository, StoreWith } from "../issuance/repositories";
import { type AdminCredentialStore, hasAdminBearerToken } from "./admin-credentials";

type BootstrapDeps = CreateAccessTokenDeps & {
  store: StoreWith<AdminCredentialStore & { tokens: Pick<AccessTokenRepository, "delete"> }>;
};

/**
 * First start, or no admin bearer token in force (every one revoked or expired): creates an
 * admin token and writes its secret to <dataDir>/admin-token with mode 0600, so whoever can read
 * the data directory (and so the key-encryption key beside it) can administer certmint, and
 * nobody else. The log names the file, never the token. With an admin bearer token in force,
 * nothing happens and an existing file is left as it is. Client certificate bindings do not
 * count here, usable or not: whether one can be presented depends on this server's TLS
 * configuration, and a restart must end any lockout. Until stop 44 of 2026-12-06 any binding
 * that named a CA counted, so a database locked out through one (no certificate, only revoked
 * ones, a mistyped outside CA hash, a server without mTLS) stayed locked out after a restart
 * (outside probes). The last-admin guard (admin-credentials.ts) still counts usable bindings.
 */
export async function ensureAdminCredential(
  deps: BootstrapDeps,
  /** Config.adminTokenFile: <dataDir>/admin-token. */
  file: string,
  logger: Logger,
): Promise<{ created: boolean; file?: string }> {
  if (await hasAdminBearerToken(deps.store, deps.now())) return { created: false };
  const created = await createBootstrapToken(deps, file);
  try {
    writeSecretFile(file, `${created.secret}\n`);
  } catch (err) {
    // A token nobody can read is useless: take it back so the next start tries again.
    await deps.store.tokens.delete(created.token.id);
    throw new Error(`cannot write the first admin token to ${file}: ${(err as Error).message}`);
  }
  logger.warn(
    { file, accessToken: created.token.slug },
    "created an admin access token (mode 0600 file): use it, then create your own tokens and revoke it",
  );
  return { created: true, file };
}

/** A random slug suffix, so no earlier token (bootstrap or named by an admin) can collide for long. */
async function createBootstrapToken(
  deps: CreateAccessTokenDeps,
  file: string,
): Promise<CreatedAccessToken> {
  // Audited like a call, with certmint itself as the actor (no token made it).
  const call = systemCall("certmint/StartUp/CreateFirstAdminToken");
  for (let attempt = 1; ; attempt++) {
    try {
      return await createAccessToken(deps, call, {
        slug: `bootstrap-admin-${randomBytes(4).toString("hex")}`,
        // The file by its name, not its path: auditors read descriptions, and the server's
        // file layout is not theirs to learn (an outside probe, 2026-12-05).
        description: `created at start-up (no usable admin credential); its secret is in the data directory's ${basename(file)} file`,
        role: "ADMIN",
        profiles: [],
        creatorId: null,
      });
    } catch (err) {
      if (attempt >= 5 || !(isCertmintError(err) && err.kind === "already_exists")) throw err;
    }
  }
}

/** Written under a temporary name with mode 0600 and renamed, so no reader sees a partial file. */
function writeSecretFile(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, content, { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}
