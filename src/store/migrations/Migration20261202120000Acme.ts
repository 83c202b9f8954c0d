import { Migration } from "@mikro-orm/migrations";
/**
 * ACME (RFC 8555) state, served by src/acme on its own listener.
 *
 * acme_nonce: nonces handed out in Replay-Nonce (RFC 8555 6.5); a nonce is deleted when a
 * request spends it, so a replayed request finds it gone (badNonce) on every replica.
 * acme_account: one per account key (RFC 7638 thumbprint) and profile; `jwk` is the public key.
 * acme_order / acme_authorization / acme_challenge: RFC 8555 7.1.3, 7.1.4, 8. An order keeps
 * the certificate request it was finalized with (the issuance use case's row), so an order
 * waiting for approval follows that request.
 * acme_eab_key: External Account Binding key ids (RFC 8555 7.3.4) made by admins, for one
 * profile; the HMAC key itself is derived from the key-encryption key and the id (never
 * stored), and a key binds at most one account.
 * certificate_profile.acme_require_eab: an ACME profile accepts new accounts only with such a key.
 */
export class Migration20261202120000Acme extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "acme_nonce" ("value" text not null, "created_at" timestamptz not null, constraint "acme_nonce_pkey" primary key ("value"));`,
    );
    this.addSql(`create index "acme_nonce_created_at_index" on "acme_nonce" ("created_at");`);
    this.addSql(
      `create table "acme_account" ("id" uuid not null, "profile_id" uuid not null, "key_thumbprint" text not null, "jwk" jsonb not null, "status" text not null, "contact" jsonb not null, "eab_key_id" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "acme_account_pkey" primary key ("id"), constraint "acme_account_status_check" check ("status" in ('valid', 'deactivated', 'revoked')));`,
    );
    this.addSql(
      `create unique index "acme_account_profile_key_key" on "acme_account" ("profile_id", "key_thumbprint");`,
    );
    this.addSql(
      `create table "acme_order" ("id" uuid not null, "account_id" uuid not null, "profile_id" uuid not null, "status" text not null, "identifiers" jsonb not null, "expires_at" timestamptz not null, "error" jsonb null, "certificate_request_id" uuid null, "certificate_id" uuid null, "replaces" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "acme_order_pkey" primary key ("id"), constraint "acme_order_account_foreign" foreign key ("account_id") references "acme_account" ("id") on delete cascade, constraint "acme_order_status_check" check ("status" in ('pending', 'ready', 'processing', 'valid', 'invalid')));`,
    );
    this.addSql(
      `create index "acme_order_account_index" on "acme_order" ("account_id", "created_at" desc);`,
    );
    this.addSql(
      `create table "acme_authorization" ("id" uuid not null, "order_id" uuid not null, "account_id" uuid not null, "identifier_type" text not null, "identifier_value" text not null, "wildcard" boolean not null default false, "status" text not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, constraint "acme_authorization_pkey" primary key ("id"), constraint "acme_authorization_order_foreign" foreign key ("order_id") references "acme_order" ("id") on delete cascade, constraint "acme_authorization_status_check" check ("status" in ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')));`,
    );
    this.addSql(
      `create index "acme_authorization_order_index" on "acme_authorization" ("order_id");`,
    );
    this.addSql(
      `create table "acme_challenge" ("id" uuid not null, "authorization_id" uuid not null, "type" text not null, "token" text not null, "status" text not null, "validated_at" timestamptz null, "error" jsonb null, constraint "acme_challenge_pkey" primary key ("id"), constraint "acme_challenge_authorization_foreign" foreign key ("authorization_id") references "acme_authorization" ("id") on delete cascade, constraint "acme_challenge_status_check" check ("status" in ('pending', 'processing', 'valid', 'invalid')));`,
    );
    this.addSql(
      `create index "acme_challenge_authorization_index" on "acme_challenge" ("authorization_id");`,
    );
    this.addSql(
      `alter table "certificate_profile" add column "acme_require_eab" boolean not null default false;`,
    );
    this.addSql(
      `create table "acme_eab_key" ("id" uuid not null, "key_id" text not null, "profile_id" uuid not null, "account_id" uuid null, "creator_id" uuid null, "created_at" timestamptz not null, "bound_at" timestamptz null, constraint "acme_eab_key_pkey" primary key ("id"), constraint "acme_eab_key_key_id_key" unique ("key_id"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "acme_eab_key";`);
    this.addSql(`alter table "certificate_profile" drop column "acme_require_eab";`);
    this.addSql(`drop table if exists "acme_challenge";`);
    this.addSql(`drop table if exists "acme_authorization";`);
    this.addSql(`drop table if exists "acme_order";`);
    this.addSql(`drop table if exists "acme_account";`);
    this.addSql(`drop table if exists "acme_nonce";`);
  }
}
