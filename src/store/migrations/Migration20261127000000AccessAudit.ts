import { Migration } from "@mikro-orm/migrations";

/**
 * access_token: credentials and what they grant (src/auth). A bearer token is stored as the
 * SHA-256 of its secret, never the secret; a client certificate binding has no secret, only
 * the identity it matches. Exactly one of the two is set.
 *
 * audit_record: one row per mutating call, written in the transaction of the change
 * (src/issuance/audit). Listed newest first, by actor, by resource or by method.
 */
export class Migration20261127000000AccessAudit extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "access_token" ("id" uuid not null, "slug" text not null, "description" text not null default '', "role" text not null, "profile_ids" jsonb not null, "secret_hash" bytea null, "client_identity" text null, "creator_id" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "revoked_at" timestamptz null, constraint "access_token_pkey" primary key ("id"), constraint "access_token_one_credential" check (("secret_hash" is null) <> ("client_identity" is null)));`,
    );
    this.addSql(
      `alter table "access_token" add constraint "access_token_slug_key" unique ("slug");`,
    );
    this.addSql(
      `alter table "access_token" add constraint "access_token_secret_hash_key" unique ("secret_hash");`,
    );
    this.addSql(
      `alter table "access_token" add constraint "access_token_client_identity_key" unique ("client_identity");`,
    );
    this.addSql(
      `create table "audit_record" ("id" uuid not null, "created_at" timestamptz not null, "actor_id" uuid null, "actor_slug" text not null, "method" text not null, "resource_type" text not null, "resource_id" text not null, "status_code" int not null, "error_reason" text not null, "request_id" text not null, "peer" text not null, constraint "audit_record_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "audit_record_created_at_index" on "audit_record" ("created_at" desc, "id" desc);`,
    );
    this.addSql(
      `create index "audit_record_actor_index" on "audit_record" ("actor_id", "created_at" desc, "id" desc);`,
    );
    this.addSql(
      `create index "audit_record_resource_index" on "audit_record" ("resource_id", "created_at" desc, "id" desc);`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_record";`);
    this.addSql(`drop table if exists "access_token";`);
  }
}
