import { defineEntity, type InferEntity } from "@mikro-orm/core";

/**
 * A credential and what it grants (src/auth). Bearer tokens keep only the SHA-256 of their
 * secret (secretHash); client certificate bindings keep the identity they match instead.
 */
export const AccessTokenEntity = defineEntity({
  name: "AccessToken",
  tableName: "access_token",
  properties: (p) => ({
    id: p.uuid().primary(),
    slug: p.text().unique("access_token_slug_key"),
    description: p.text().default(""),
    /** ADMIN, ISSUER, APPROVER or AUDITOR (src/auth/roles.ts). */
    role: p.text(),
    /** Profile ids an ISSUER or APPROVER acts on; empty for the others. */
    profileIds: p.json<string[]>(),
    secretHash: p.blob().nullable().unique("access_token_secret_hash_key"),
    clientIdentity: p.text().nullable().unique("access_token_client_identity_key"),
    creatorId: p.uuid().nullable(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
  }),
});
export type AccessTokenRow = InferEntity<typeof AccessTokenEntity>;
