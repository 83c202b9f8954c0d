import { defineEntity, type InferEntity } from "@mikro-orm/core";
import type { IdentityType } from "../../issuance/access-tokens/binding";
import type { Role } from "../../issuance/call";

/**
 * A credential and what it grants (src/auth). Bearer tokens keep only the SHA-256 of their
 * secret (secretHash); client certificate bindings keep the identity they match instead: its
 * type, its value and the CA that must be on the certificate's chain
 * (Migration20261202010000ClientCertificateBinding).
 */
export const AccessTokenEntity = defineEntity({
  name: "AccessToken",
  tableName: "access_token",
  properties: (p) => ({
    id: p.uuid().primary(),
    slug: p.text().unique("access_token_slug_key"),
    description: p.text().default(""),
    /** ADMIN, ISSUER, APPROVER or AUDITOR (src/issuance/call.ts). */
    role: p.text().$type<Role>(),
    /** Profile ids an ISSUER or APPROVER acts on; empty for the others. */
    profileIds: p.json<string[]>(),
    secretHash: p.blob().nullable().unique("access_token_secret_hash_key"),
    /** The binding's value (unique per type and CA among tokens not revoked). */
    clientIdentity: p.text().nullable().index("access_token_client_identity_index"),
    /** URI_SAN | DNS_SAN | COMMON_NAME (src/auth/client-certificates.ts); set with clientIdentity. */
    clientIdentityType: p.text().$type<IdentityType>().nullable(),
    /** The certmint CA the binding names, if it names one. */
    clientCaId: p.uuid().nullable(),
    /** SHA-256 (hex) of the certificate of the CA that must be on the chain; null only on bindings made before bindings named a CA. */
    clientCaSha256: p.text().nullable(),
    creatorId: p.uuid().nullable(),
    /**
     * The tokens whose authority its creation rests on besides its creator: those the client
     * certificate its creator called with was vouched for by (Actor.vouchers), so that their
     * line's cut takes it (createdLine). Null: its creator alone (or made before stop 56).
     */
    vouchedBy: p.json<string[]>().nullable(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    /**
     * When its line was cut (RevokeAccessToken with revoke_created_tokens, this token named or
     * of the line): what a credential it vouched for makes is refused from then on
     * (Migration20261207235900LineCut). Null: never cut (a plain revocation leaves it null).
     */
    lineCutAt: p.datetime().nullable(),
    /**
     * SHA-256 of the CreateAccessToken request made with a request_id (its id is derived from
     * the creator and the request_id: src/issuance/access-tokens/request-id.ts), so that a
     * reuse of the request_id for another request is refused; null without a request_id.
     */
    requestFingerprint: p.text().nullable(),
    /**
     * For a bearer token made with a request_id: the random salt its secret is derived from
     * (HMAC under a key derived from the KEK), so a retry of the lost answer gets the same
     * secret; null otherwise. Never leaves the server.
     */
    secretSalt: p.blob().nullable(),
  }),
});
export type AccessTokenRow = InferEntity<typeof AccessTokenEntity>;
