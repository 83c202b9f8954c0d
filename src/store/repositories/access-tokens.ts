import type { EntityManager } from "@mikro-orm/postgresql";
import type { IdentityType } from "../../issuance/access-tokens/binding";
import type {
  AccessToken,
  AccessTokenRepository,
  BoundCredential,
  Credential,
  PageQuery,
  PresentedIdentities,
  RowKey,
} from "../../issuance/repositories";
import { AccessTokenEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRow, fromRows, type Loaded, translatingConflicts } from "../rows";

const E = AccessTokenEntity;

const CREDENTIAL_FIELDS = ["id", "slug", "role", "profileIds", "expiresAt", "revokedAt"] as const;

/** Access tokens, on the ORM (`em()` is a fresh fork, or the transaction's). */
export class OrmAccessTokenRepository implements AccessTokenRepository {
  constructor(private readonly em: () => EntityManager) {}

  async find(key: RowKey): Promise<AccessToken | null> {
    const row = await this.em().findOne(E, key, { refresh: true });
    return row && fromRow<AccessToken>(row);
  }

  async insert(token: AccessToken): Promise<void> {
    const em = this.em();
    await translatingConflicts(() => em.insert(E, token), {
      access_token_slug_key: "slug",
      access_token_client_binding_key: "client_binding",
    });
  }

  async markRevoked(id: string, now: Date): Promise<void> {
    // A revoked token's secret is never handed out again: its salt goes with it (request-id.ts).
    await this.em().nativeUpdate(E, { id, revokedAt: null }, { revokedAt: now, secretSalt: null });
  }

  async delete(id: string): Promise<void> {
    await this.em().nativeDelete(E, { id });
  }

  async forgetProfile(profileId: string): Promise<number> {
    const res = await this.em().execute(
      `update "access_token" set "profile_ids" = (select coalesce(jsonb_agg(e), '[]'::jsonb) from jsonb_array_elements("profile_ids") e where e <> to_jsonb(?::text)) where "profile_ids" @> jsonb_build_array(?::text)`,
      [profileId, profileId],
      "run",
    );
    return (res as { affectedRows?: number }).affectedRows ?? 0;
  }

  async forgetSecretSalts(createdBefore: Date): Promise<number> {
    const res = await this.em().execute(
      `update "access_token" set "secret_salt" = null where "secret_salt" is not null and "created_at" < ?`,
      [createdBefore],
      "run",
    );
    return (res as { affectedRows?: number }).affectedRows ?? 0;
  }

  countActiveAdmins(now: Date): Promise<number> {
    return this.em().count(E, {
      role: "ADMIN",
      revokedAt: null,
      expiresAt: { $gt: now },
      // A client certificate binding that names no CA (made before bindings did) authenticates
      // nobody (src/auth/client-certificates.ts): it is no admin credential.
      $or: [{ clientIdentity: null }, { clientCaSha256: { $ne: null } }],
    });
  }

  async lockAdminCredentials(): Promise<void> {
    await this.em().execute(`select pg_advisory_xact_lock(${ADMIN_SET_LOCK_CLASS}, 0)`, [], "run");
  }

  async findBySecretHash(secretHash: Uint8Array): Promise<Credential | null> {
    const row = await this.em().findOne(
      E,
      { secretHash: Buffer.from(secretHash) },
      { fields: [...CREDENTIAL_FIELDS] },
    );
    return row && credentialOf(row);
  }

  async findBindings(p: PresentedIdentities): Promise<BoundCredential[]> {
    const or: Array<{
      clientIdentityType: IdentityType;
      clientIdentity: string | { $in: string[] };
    }> = [];
    if (p.uri) or.push({ clientIdentityType: "URI_SAN", clientIdentity: p.uri });
    if (p.dns.length > 0) {
      or.push({ clientIdentityType: "DNS_SAN", clientIdentity: { $in: [...p.dns] } });
    }
    if (p.commonName !== undefined) {
      or.push({ clientIdentityType: "COMMON_NAME", clientIdentity: p.commonName });
    }
    if (or.length === 0) return [];
    const rows = await this.em().find(
      E,
      { $or: or },
      {
        fields: [
          ...CREDENTIAL_FIELDS,
          "clientIdentityType",
          "clientIdentity",
          "clientCaSha256",
          "createdAt",
        ],
      },
    );
    return rows.map((row) => ({
      ...credentialOf(row),
      createdAt: row.createdAt,
      clientIdentityType: row.clientIdentityType ?? null,
      clientIdentity: row.clientIdentity ?? null,
      clientCaSha256: row.clientCaSha256 ?? null,
    }));
  }

  async slugsBoundToCa(caId: string, now: Date): Promise<string[]> {
    const rows = await this.em().find(
      E,
      { clientCaId: caId, revokedAt: null, expiresAt: { $gt: now } },
      { fields: ["slug"], orderBy: { slug: "asc" } },
    );
    return rows.map((r) => r.slug);
  }

  async listOldestFirst(page: PageQuery): Promise<AccessToken[]> {
    const rows = await this.em().find(E, afterCursor(page.after, "asc"), {
      orderBy: keysetOrder("asc"),
      limit: page.limit,
    });
    return fromRows<AccessToken>(rows);
  }
}

function credentialOf(
  row: Loaded<Pick<AccessToken, (typeof CREDENTIAL_FIELDS)[number]>>,
): Credential {
  return {
    id: row.id,
    slug: row.slug,
    role: row.role,
    profileIds: row.profileIds,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt ?? null,
  };
}

/** The advisory lock class of the set of admin credentials: "admn" (lockAdminCredentials). */
const ADMIN_SET_LOCK_CLASS = 0x61646d6e;
