import type { EntityManager } from "@mikro-orm/postgresql";
import type { IdentityType } from "../../issuance/access-tokens/binding";
import type {
  AccessToken,
  AccessTokenRepository,
  BoundCredential,
  Certificate,
  Credential,
  PageQuery,
  PresentedIdentities,
  RowKey,
} from "../../issuance/repositories";
import { AccessTokenEntity, CertificateEntity } from "../entities";
import { afterCursor, keysetOrder } from "../keyset";
import { fromRow, fromRows, type Loaded, translatingConflicts } from "../rows";
import { UUIDS } from "../uuid-list";

const E = AccessTokenEntity;

const CREDENTIAL_FIELDS = [
  "id",
  "slug",
  "role",
  "profileIds",
  "expiresAt",
  "revokedAt",
  "creatorId",
] as const;

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

  async lockCaller(id: string): Promise<Credential | null> {
    // FOR SHARE: conflicts with the FOR NO KEY UPDATE (lockForRevocation) and UPDATE of a
    // revocation, so the two are ordered by commit; FOR KEY SHARE would not wait for it.
    const rows = (await this.em().execute(
      `select "id", "slug", "role", "profile_ids", "expires_at", "revoked_at" from "access_token" where "id" = ? for share`,
      [id],
      "all",
    )) as Array<{
      id: string;
      slug: string;
      role: AccessToken["role"];
      profile_ids: string[];
      expires_at: Date | string;
      revoked_at: Date | string | null;
    }>;
    const row = rows[0];
    if (!row) return null;
    return {
      id: row.id,
      slug: row.slug,
      role: row.role,
      profileIds: row.profile_ids,
      expiresAt: new Date(row.expires_at),
      revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    };
  }

  async lockForRevocation(id: string): Promise<boolean> {
    const rows = await this.em().execute(
      `select "id" from "access_token" where "id" = ? for no key update`,
      [id],
      "all",
    );
    return (rows as unknown[]).length > 0;
  }

  async lockBindingCa(caId: string): Promise<boolean> {
    // FOR KEY SHARE: conflicts with the FOR UPDATE of DeleteCertificateAuthority (and of a CA's
    // revocation), not with the updates of signing (CRL numbers, serials).
    const rows = await this.em().execute(
      `select "id" from "certificate_authority" where "id" = ? for key share`,
      [caId],
      "all",
    );
    return (rows as unknown[]).length > 0;
  }

  async lockListedProfiles(profileIds: readonly string[]): Promise<string[]> {
    if (profileIds.length === 0) return [];
    // FOR KEY SHARE: conflicts with DeleteCertificateProfile's FOR UPDATE and its delete (whose
    // later forgetProfile then sees this token), not with a profile's edits.
    const rows = (await this.em().execute(
      `select "id"::text as "id" from "certificate_profile" where "id" in (${UUIDS}) order by "id" for key share`,
      [JSON.stringify(profileIds)],
      "all",
    )) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async markRevoked(id: string, now: Date): Promise<void> {
    // A revoked token's secret is never handed out again: its salt goes with it (request-id.ts).
    await this.em().nativeUpdate(E, { id, revokedAt: null }, { revokedAt: now, secretSalt: null });
  }

  async lockVouchers(
    ids: readonly string[],
  ): Promise<Array<{ id: string; slug: string; lineCutAt: Date | null }>> {
    if (ids.length === 0) return [];
    // FOR SHARE, in id order (the order a cut locks its line in: lockForRevocation), as
    // lockCaller: a cut holding one waits for this transaction, or this waits for the cut.
    const rows = (await this.em().execute(
      `select "id", "slug", "line_cut_at" from "access_token"
        where "id" in (select (jsonb_array_elements_text(?::jsonb))::uuid) order by "id" for share`,
      [JSON.stringify(ids)],
      "all",
    )) as Array<{ id: string; slug: string; line_cut_at: Date | string | null }>;
    return rows.map((r) => ({
      id: r.id,
      slug: r.slug,
      lineCutAt: r.line_cut_at === null ? null : new Date(r.line_cut_at),
    }));
  }

  async markLineCut(ids: readonly string[], now: Date): Promise<void> {
    await this.em().execute(
      `update "access_token" set "line_cut_at" = ?
        where "id" in (select (jsonb_array_elements_text(?::jsonb))::uuid) and "line_cut_at" is null`,
      [now, JSON.stringify(ids)],
      "run",
    );
  }

  async createdLine(id: string): Promise<AccessToken[]> {
    // UNION, not UNION ALL: a token reached twice is walked once, so a cycle ends the walk.
    // A token is of the line when its creator is, or a token of the line vouched for it (made
    // over a client certificate the line had issued: Migration20261207200000CredentialLifetime);
    // each step reads both indexes (creator_id, and vouched_by's GIN).
    const rows = (await this.em().execute(
      `with recursive "line" ("id") as (
         select "id" from "access_token"
          where "creator_id" = ? or "vouched_by" @> jsonb_build_array(?::text)
         union
         select t."id" from "access_token" t join "line" l
           on t."creator_id" = l."id" or t."vouched_by" @> jsonb_build_array(l."id"::text)
       )
       select "id" from "line" where "id" <> ?`,
      [id, id, id],
      "all",
    )) as Array<{ id: string }>;
    if (rows.length === 0) return [];
    const tokens = await this.em().find(
      E,
      { id: { $in: rows.map((r) => r.id) } },
      { orderBy: { createdAt: "asc", id: "asc" }, refresh: true },
    );
    return fromRows<AccessToken>(tokens);
  }

  async delete(id: string): Promise<void> {
    await this.em().nativeDelete(E, { id });
  }

  async lockListingProfile(profileId: string): Promise<string[]> {
    const rows = await this.em().execute<Array<{ id: string }>>(
      `select "id" from "access_token" where "profile_ids" @> jsonb_build_array(?::text)
        order by "id" for no key update`,
      [profileId],
      "all",
    );
    return rows.map((row) => row.id);
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

  async lockAdminCredentials(): Promise<void> {
    await this.em().execute(`select pg_advisory_xact_lock(${ADMIN_SET_LOCK_CLASS}, 0)`, [], "run");
  }

  async adminsInForce(now: Date): Promise<AccessToken[]> {
    const rows = await this.em().find(
      E,
      { role: "ADMIN", revokedAt: null, expiresAt: { $gt: now } },
      { orderBy: { createdAt: "asc", id: "asc" }, refresh: true },
    );
    return fromRows<AccessToken>(rows);
  }

  async certificatesPresenting(
    binding: Pick<AccessToken, "clientCaId" | "clientIdentity">,
    now: Date,
    limit: number,
  ): Promise<Certificate[]> {
    if (!binding.clientCaId || !binding.clientIdentity) return [];
    // The CA and the CAs below it (a chain is a handful of CAs; the depth bound only guards
    // against a cycle no parent_id can make). search_names holds the lower-cased CN and SANs
    // (certificates/names.ts); which of them the certificate presents, and whether it
    // authenticates as the token, is decided by authentication's own code afterwards.
    const rows = (await this.em().execute(
      `with recursive "tree" ("id", "depth") as (
         select "id", 0 from "certificate_authority" where "id" = ?
         union all
         select ca."id", t."depth" + 1 from "certificate_authority" ca join "tree" t on ca."parent_id" = t."id" where t."depth" < 32
       )
       select c."id" from "certificate" c
       where c."ca_id" in (select "id" from "tree")
         and c."revoked_at" is null and c."not_before" <= ? and c."not_after" > ?
         and not c."is_ca"
         and (jsonb_array_length(c."extended_key_usages") = 0 or c."extended_key_usages" @> '["CLIENT_AUTH"]'::jsonb)
         and position(lower(?) in c."search_names") > 0
       order by c."not_after" desc, c."id" desc
       limit ?`,
      [binding.clientCaId, now, now, binding.clientIdentity, limit],
      "all",
    )) as Array<{ id: string }>;
    if (rows.length === 0) return [];
    const certs = await this.em().find(
      CertificateEntity,
      { id: { $in: rows.map((r) => r.id) } },
      { refresh: true },
    );
    return fromRows<Certificate>(certs);
  }

  async clientCertificatesOfLine(
    lineIds: readonly string[],
    since: Date,
    now: Date,
  ): Promise<Certificate[]> {
    if (lineIds.length === 0) return [];
    // No index on owner: the range of created_at from the line's oldest token
    // (certificate_created_at_id_index) bounds the read to what the line could have requested.
    const rows = (await this.em().execute(
      `select c."id" from "certificate" c
        where c."created_at" >= ?
          and (c."owner" in (select jsonb_array_elements_text(?::jsonb))
            or jsonb_exists_any(c."vouched_by", array(select jsonb_array_elements_text(?::jsonb))))
          and (c."revoked_at" is null or c."revocation_reason" = 'CERTIFICATE_HOLD')
          and c."not_after" > ?
          and not c."is_ca" and c."ca_id" is not null
          and (jsonb_array_length(c."extended_key_usages") = 0 or c."extended_key_usages" @> '["CLIENT_AUTH"]'::jsonb)
        order by c."id"`,
      [since, JSON.stringify(lineIds), JSON.stringify(lineIds), now],
      "all",
    )) as Array<{ id: string }>;
    if (rows.length === 0) return [];
    const certs = await this.em().find(
      CertificateEntity,
      { id: { $in: rows.map((r) => r.id) } },
      { orderBy: { id: "asc" }, refresh: true },
    );
    return fromRows<Certificate>(certs);
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
    creatorId: row.creatorId ?? null,
  };
}

/** The advisory lock class of the set of admin credentials: "admn" (lockAdminCredentials). */
const ADMIN_SET_LOCK_CLASS = 0x61646d6e;
