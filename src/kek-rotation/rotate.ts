/**
 * KEK rotation (since stop 43 of 2026-12-06): every blob sealed under the key-encryption key
 * (src/signer/key-wrap.ts) opened with the current KEK and sealed again under a new one, with
 * the same associated data, in ONE transaction, together with the KEK check value. NIST SP
 * 800-57 Part 1 Rev. 5 5.3 asks for a cryptoperiod per key and 8.2.3.1 for re-keying when a
 * key is suspected compromised: until now the KEK could never change.
 *
 * Offline by design: a running server holds the KEK in memory and would seal new keys with
 * the old one while this commits (or fail to open the new ones afterwards). The caller (main.ts)
 * makes sure no server uses the database; here the tables are locked all the same, so that a
 * writer nobody saw waits for (or times out against) this transaction instead of interleaving.
 * A server of stop 44 or later that was not seen all the same (behind a pooler in transaction
 * mode) is refused every key it seals with the old KEK after the commit: this transaction sets
 * kek_check.kek_id, and the database's trigger accepts only blobs of that id
 * (Migration20261206140000KekIdGuard; test/ca/kek-rotation-guard.test.ts).
 *
 * Before commit every re-sealed blob is read back from the database, opened with the NEW key
 * and its public key compared with the one opened with the old: a bug here must not commit keys
 * nobody can open. Any failure rolls everything back; the caller reports one line.
 */
import { createHash, createPublicKey, type KeyObject, timingSafeEqual } from "node:crypto";
import { CertmintError, failedPrecondition } from "../errors";
import { caKeyAad, KEK_CHECK_AAD, proveKek } from "../issuance/ca/keyring";
import { certificateKeyAad, requestKeyAad } from "../issuance/certificates/keys";
import { newRowId } from "../issuance/common/ids";
import { generateKeyPair } from "../signer";
import { kekId, kekIdBytes, openPrivateKey, sealPrivateKey } from "../signer/key-wrap";

/** One SQL round trip on the rotation's single connection (node-postgres semantics). */
export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** A column of sealed blobs and the associated data each row's blob was sealed with. */
interface SealedColumn {
  table: string;
  column: string;
  aad: (id: string) => string;
  /** The name of the count in the report. */
  label: keyof Omit<RotationCounts, "checkValue">;
}

/**
 * Every sealed blob certmint keeps (`grep -rn "sealWith\|\.seal(" src`): CA keys
 * (issuance/ca/create*.ts), generated keys held on their request for the requester
 * (certificates/sign.ts, RETURN_ONCE replays and approvals) and kept on the certificate
 * (STORE_ENCRYPTED). The check value (kek_check) is re-sealed apart. A new sealed column must
 * be added here: test/ca/kek-rotation.test.ts fails on a bytea column it does not know.
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  {
    table: "certificate_authority",
    column: "sealed_private_key",
    aad: caKeyAad,
    label: "caKeys",
  },
  {
    table: "certificate_request",
    column: "sealed_private_key",
    aad: requestKeyAad,
    label: "requestKeys",
  },
  {
    table: "certificate",
    column: "sealed_private_key",
    aad: certificateKeyAad,
    label: "certificateKeys",
  },
];

/** Tables the rotation writes; locked for its whole transaction. */
const LOCKED_TABLES = ["certificate_authority", "certificate_request", "certificate", "kek_check"];

/** Rows per round trip: bounded memory and statement size on a database of 10^6 certificates. */
const BATCH = 500;

/** How long the rotation waits for a table another session holds before it gives up. */
const LOCK_TIMEOUT = "5s";

export interface RotationCounts {
  caKeys: number;
  requestKeys: number;
  certificateKeys: number;
  /** "resealed", or "created" when the database had lost its check value. */
  checkValue: "resealed" | "created";
}

/** What changed besides the sealed blobs: values derived from the KEK (src/signer/mac.ts). */
export interface DerivedEffects {
  /** ACME External Account Binding keys not bound to an account yet (src/acme/eab.ts). */
  unusedEabKeys: number;
  /** Live access tokens made with a request_id (issuance/access-tokens/request-id.ts). */
  tokensWithRequestId: number;
}

export interface RotationResult {
  counts: RotationCounts;
  effects: DerivedEffects;
}

const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/** A blob that does not open with the KEK that opened the check value: damaged or misplaced. */
function unreadable(table: string, id: string, err: unknown): CertmintError {
  return new CertmintError(
    "failed_precondition",
    "SEALED_KEY_UNREADABLE",
    `the sealed key of ${table} ${id} does not open with the current key-encryption key (damaged, or copied from another row or database); nothing was rotated: restore that row from a backup, or delete it, then run the rotation again`,
    { cause: err },
  );
}

/** A re-sealed blob that does not give back its key: a bug, never committed. */
function verifyFailed(table: string, id: string, why: string): CertmintError {
  return new CertmintError(
    "internal",
    "KEK_ROTATION_VERIFY_FAILED",
    `after re-sealing, the key of ${table} ${id} ${why}; rolled back, nothing was rotated`,
  );
}

const spkiHash = (key: KeyObject): Buffer =>
  createHash("sha256")
    .update(createPublicKey(key).export({ type: "spki", format: "der" }))
    .digest();

/**
 * Refuses a new KEK equal to the current one: "rotating" to the same key would report success
 * while the key suspected leaked stays in use.
 */
export function refuseSameKek(current: Buffer, next: Buffer): void {
  if (current.length === next.length && timingSafeEqual(current, next)) {
    throw failedPrecondition(
      "KEK_UNCHANGED",
      "the new key-encryption key is the current one: give a new key (e.g. --generate-new-kek-file); nothing was changed",
    );
  }
}

/**
 * The rotation itself, inside the transaction the caller opened on `sql` (it commits on
 * success and rolls back on any throw). `current` is proven against the check value first,
 * exactly as a server's start does (proveKek).
 */
export async function rotateInTransaction(
  sql: SqlSession,
  current: Buffer,
  next: Buffer,
  /** Refuses, once the tables are locked, when a server is (still, or newly) on the database. */
  refuseServers: () => Promise<void> = () => Promise.resolve(),
): Promise<RotationResult> {
  refuseSameKek(current, next);
  // Waiting forever behind a session that holds a table (a server nobody saw) would look like
  // a hang; after LOCK_TIMEOUT it fails with 55P03, reported as the database being in use.
  await sql.query(`set local lock_timeout = '${LOCK_TIMEOUT}'`);
  // EXCLUSIVE: nobody else writes these tables (or locks their rows) until commit; plain reads
  // still see the rows as they were (PostgreSQL 13.3.1 "Table-Level Locks"). The check value
  // ACCESS EXCLUSIVE: a server that starts meanwhile (after the check for running servers)
  // reads it in openKeyring only after commit, finds the new one, and refuses the old key
  // (KEK_MISMATCH) instead of serving with it.
  const others = LOCKED_TABLES.filter((t) => t !== "kek_check").map((t) => `"${t}"`);
  await sql.query(`lock table ${others.join(", ")} in exclusive mode`);
  await sql.query(`lock table "kek_check" in access exclusive mode`);
  // A server that started after the caller's first look read the old check value before these
  // locks; it is on the database now (its sessions, its presence lock): refused, rolled back.
  await refuseServers();

  const [checkRow] = await sql.query<{ sealed: Buffer }>(
    `select "sealed" from "kek_check" where "id" = 1`,
  );
  const check = checkRow?.sealed ?? null;
  const [oldestCa] = check
    ? []
    : await sql.query<{ id: string; slug: string; sealed_private_key: Buffer }>(
        `select "id", "slug", "sealed_private_key" from "certificate_authority" order by "created_at" asc limit 1`,
      );
  if (!check && !oldestCa) {
    throw failedPrecondition(
      "NOTHING_SEALED",
      "this database holds no KEK check value and no CA key: nothing is sealed with a key-encryption key yet (start the server once first); nothing was changed",
    );
  }
  proveKek(
    current,
    check,
    oldestCa ? { ...oldestCa, sealedPrivateKey: oldestCa.sealed_private_key } : null,
    "refusing to rotate",
  );

  const counts: RotationCounts = {
    caKeys: 0,
    requestKeys: 0,
    certificateKeys: 0,
    checkValue: check ? "resealed" : "created",
  };
  // The check value first: the same throwaway key (its plaintext means nothing), sealed anew;
  // or a new one when the database had lost it (openKeyring would write one at the next
  // start). With it the current KEK's id (kek_check.kek_id), before any blob is re-sealed: the
  // trigger of Migration20261206140000KekIdGuard accepts a version 2 blob only under the id
  // stored there, the re-sealed ones below included. Once this commits, a server that still
  // holds the old KEK (behind a pooler in transaction mode, or unseen) is refused every new
  // sealed key (KEK_ROTATED) instead of storing keys that die with the old KEK file.
  const checkKey = check
    ? openPrivateKey(current, check, KEK_CHECK_AAD)
    : (await generateKeyPair("ED25519")).privateKey;
  const newCheck = sealPrivateKey(next, checkKey, KEK_CHECK_AAD);
  if (check) {
    await sql.query(`update "kek_check" set "sealed" = $1, "kek_id" = $2 where "id" = 1`, [
      newCheck,
      kekIdBytes(next),
    ]);
  } else {
    await sql.query(
      `insert into "kek_check" ("id", "sealed", "kek_id", "created_at") values (1, $1, $2, now())`,
      [newCheck, kekIdBytes(next)],
    );
  }

  const expected = new Map<string, Map<string, Buffer>>();
  for (const target of SEALED_COLUMNS) {
    const hashes = new Map<string, Buffer>();
    expected.set(target.table, hashes);
    await eachSealed(sql, target, async (rows) => {
      const ids: string[] = [];
      const blobs: Buffer[] = [];
      for (const row of rows) {
        let key: KeyObject;
        try {
          key = openPrivateKey(current, row.sealed, target.aad(row.id));
        } catch (err) {
          throw unreadable(target.table, row.id, err);
        }
        hashes.set(row.id, spkiHash(key));
        ids.push(row.id);
        blobs.push(sealPrivateKey(next, key, target.aad(row.id)));
      }
      await sql.query(
        `update "${target.table}" t set "${target.column}" = v.s
           from unnest($1::uuid[], $2::bytea[]) as v(id, s) where t."id" = v.id`,
        [ids, blobs],
      );
      counts[target.label] += rows.length;
    });
  }

  await verifyResealed(sql, next, expected, spkiHash(checkKey));
  await recordRotation(sql, current, next, counts);
  return { counts, effects: await derivedEffects(sql) };
}

/**
 * An identifier of a KEK that says nothing of it (src/signer/key-wrap.ts, where every version 2
 * blob carries it since stop 44 of 2026-12-06), so an auditor can tell which key a record names.
 */
export { kekId };

/**
 * The rotation in the audit trail, in its transaction: a key-management event (NIST SP 800-57
 * Part 1 8.2.3), by "rotate-kek" (no access token: an operator on the database's host), with
 * the old and new keys' ids and the counts. Since a review of stop 43 of 2026-12-06.
 */
async function recordRotation(
  sql: SqlSession,
  current: Buffer,
  next: Buffer,
  counts: RotationCounts,
): Promise<void> {
  const changes = [
    { field: "kek_id", before: kekId(current), after: kekId(next) },
    { field: "ca_keys_resealed", after: counts.caKeys },
    { field: "request_keys_resealed", after: counts.requestKeys },
    { field: "certificate_keys_resealed", after: counts.certificateKeys },
  ];
  await sql.query(
    `insert into "audit_record" ("id", "created_at", "actor_id", "actor_slug", "method",
       "resource_type", "resource_id", "status_code", "error_reason", "request_id", "peer", "changes")
     values ($1::uuid, now(), null, 'rotate-kek', 'rotate-kek', 'key_encryption_key', $2, 0, '', '', 'local', $3::jsonb)`,
    [newRowId(), kekId(next), JSON.stringify(changes)],
  );
}

/** Calls `each` with the rows of `target` that hold a blob, BATCH at a time, in id order. */
async function eachSealed(
  sql: SqlSession,
  target: SealedColumn,
  each: (rows: Array<{ id: string; sealed: Buffer }>) => Promise<void>,
): Promise<void> {
  let after = NIL_UUID;
  for (;;) {
    const rows = await sql.query<{ id: string; sealed: Buffer }>(
      `select "id", "${target.column}" as "sealed" from "${target.table}"
        where "${target.column}" is not null and "id" > $1::uuid order by "id" limit ${BATCH}`,
      [after],
    );
    if (rows.length === 0) return;
    await each(rows);
    after = rows[rows.length - 1]!.id;
    if (rows.length < BATCH) return;
  }
}

/**
 * Reads every sealed blob back as it will be committed and opens it with the NEW key: each must
 * give the public key it had before, and no row may have gained or lost a blob.
 */
async function verifyResealed(
  sql: SqlSession,
  next: Buffer,
  expected: Map<string, Map<string, Buffer>>,
  checkHash: Buffer,
): Promise<void> {
  for (const target of SEALED_COLUMNS) {
    const hashes = expected.get(target.table)!;
    let seen = 0;
    await eachSealed(sql, target, async (rows) => {
      for (const row of rows) {
        const want = hashes.get(row.id);
        if (!want) throw verifyFailed(target.table, row.id, "was not there before");
        let key: KeyObject;
        try {
          key = openPrivateKey(next, row.sealed, target.aad(row.id));
        } catch {
          throw verifyFailed(target.table, row.id, "does not open with the new key");
        }
        if (!spkiHash(key).equals(want)) {
          throw verifyFailed(target.table, row.id, "opens to another key");
        }
        seen++;
      }
    });
    if (seen !== hashes.size) {
      throw verifyFailed(target.table, `(${hashes.size - seen} rows)`, "went missing");
    }
  }
  const [checkRow] = await sql.query<{ sealed: Buffer; kek_id: Buffer | null }>(
    `select "sealed", "kek_id" from "kek_check" where "id" = 1`,
  );
  if (!checkRow?.kek_id?.equals(kekIdBytes(next))) {
    throw verifyFailed("kek_check", "1", "does not name the new key's id");
  }
  let checkKey: KeyObject;
  try {
    checkKey = openPrivateKey(next, checkRow!.sealed, KEK_CHECK_AAD);
  } catch {
    throw verifyFailed("kek_check", "1", "does not open with the new key");
  }
  if (!spkiHash(checkKey).equals(checkHash)) {
    throw verifyFailed("kek_check", "1", "opens to another key");
  }
}

/** The values derived from the KEK that stop being recognised (see DerivedEffects). */
async function derivedEffects(sql: SqlSession): Promise<DerivedEffects> {
  const [row] = await sql.query<{ eab: string; tokens: string }>(
    `select (select count(*) from "acme_eab_key" where "account_id" is null) as "eab",
            (select count(*) from "access_token"
              where "request_fingerprint" is not null and "revoked_at" is null) as "tokens"`,
  );
  return { unusedEabKeys: Number(row?.eab ?? 0), tokensWithRequestId: Number(row?.tokens ?? 0) };
}

/** The report printed after commit: counts and what else changed. Never a key byte. */
export function describeRotation(result: RotationResult, replaySeconds: number): string[] {
  const { counts, effects } = result;
  const lines = [
    "certmint: key-encryption key rotated (one transaction, committed)",
    `  CA keys re-sealed:          ${counts.caKeys}`,
    `  request keys re-sealed:     ${counts.requestKeys} (generated keys held for their requester)`,
    `  certificate keys re-sealed: ${counts.certificateKeys} (STORE_ENCRYPTED)`,
    `  KEK check value:            ${counts.checkValue}`,
    "Values derived from the KEK changed with it (src/signer/mac.ts):",
    `  ACME External Account Binding keys not used yet: ${effects.unusedEabKeys}${
      effects.unusedEabKeys > 0
        ? " stop working (their HMAC keys were derived from the old KEK): re-create them (CreateAcmeExternalAccountKey) and hand out the new ones; accounts already bound are not affected"
        : ""
    }`,
    `  access tokens made with a request_id: ${effects.tokensWithRequestId} still work, but a CreateAccessToken retry of a request_id from before the rotation (within ${replaySeconds} s of it) is no longer recognised: it gets ALREADY_EXISTS (ACCESS_TOKEN_SLUG_TAKEN), not the secret again; revoke such a token and create another`,
    "  page tokens from before the rotation are refused: INVALID_ARGUMENT (PAGE_TOKEN_INVALID); clients list again from the first page",
    "  credential-change notifications are signed with the new key; with every server stopped none was in flight",
    "  a server still running with the old key (one the checks did not see) is refused every new sealed key (CA creation, generated keys): FAILED_PRECONDITION (KEK_ROTATED) until it is restarted with the new key; certificates from CSRs still issue",
    "Next: start the servers with the NEW key (CERTMINT_KEK_FILE or CERTMINT_KEK); a start with the old one is refused (KEK_MISMATCH). Keep the old key until a backup taken now has been restored and checked, then destroy it.",
  ];
  return lines;
}
