import { Migration } from "@mikro-orm/migrations";

/**
 * The first schema: CAs, policies, profiles, certificate requests and certificates.
 * Written by hand from the entities (src/store/entities) plus what entities cannot say:
 * foreign keys, check constraints, partial and expression indexes.
 * - certificate_ca_serial_key: a serial is unique per issuing CA (RFC 5280 4.1.2.2).
 * - certificate_request_caller_request_id_key: request_id is an idempotency key per caller.
 * - Profiles are not foreign keys of requests and certificates: history outlives a profile.
 */
export class Migration20261126000000Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "certificate" ("id" uuid not null, "serial_number" text not null, "ca_id" uuid null, "profile_id" uuid null, "certificate_request_id" uuid not null, "subject" jsonb not null, "common_name" text not null default '', "sans" jsonb not null, "search_names" text not null default '', "key_algorithm" text not null, "signature_algorithm" text not null, "key_usages" jsonb not null, "extended_key_usages" jsonb not null, "is_ca" boolean not null default false, "not_before" timestamptz not null, "not_after" timestamptz not null, "fingerprint_sha256" text not null, "certificate_pem" text not null, "chain_pem" jsonb not null, "revoked_at" timestamptz null, "revocation_reason" text null, "renewed_from_id" uuid null, "renewed_by_id" uuid null, "sealed_private_key" bytea null, "created_at" timestamptz not null, constraint "certificate_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "certificate" add constraint "certificate_fingerprint_sha256_key" unique ("fingerprint_sha256");`,
    );
    this.addSql(
      `create table "certificate_authority" ("id" uuid not null, "slug" text not null, "description" text not null default '', "type" text not null, "status" text not null, "subject" jsonb not null, "key_algorithm" text not null, "signature_algorithm" text not null, "parent_id" uuid null, "certificate_pem" text null, "chain_pem" jsonb not null, "serial_number" text null, "not_before" timestamptz null, "not_after" timestamptz null, "max_path_length" int null, "csr_pem" text null, "sealed_private_key" bytea not null, "crl_number" bigint not null default '0', "version" int not null default 1, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "certificate_authority_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "certificate_authority" add constraint "certificate_authority_slug_key" unique ("slug");`,
    );
    this.addSql(
      `create table "certificate_policy" ("id" uuid not null, "slug" text not null, "description" text not null default '', "spec" jsonb not null, "version" int not null default 1, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "certificate_policy_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "certificate_policy" add constraint "certificate_policy_slug_key" unique ("slug");`,
    );
    this.addSql(
      `create table "certificate_profile" ("id" uuid not null, "slug" text not null, "description" text not null default '', "policy_id" uuid not null, "ca_id" uuid null, "self_signed" boolean not null default false, "enrollment_method" text not null, "defaults" jsonb not null, "renewal" jsonb not null, "require_approval" boolean not null default false, "validity_overflow" text not null, "private_key_retention" text not null, "version" int not null default 1, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "certificate_profile_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "certificate_profile" add constraint "certificate_profile_slug_key" unique ("slug");`,
    );
    this.addSql(
      `create index "certificate_profile_policy_id_index" on "certificate_profile" ("policy_id");`,
    );
    this.addSql(
      `create index "certificate_profile_ca_id_index" on "certificate_profile" ("ca_id");`,
    );
    this.addSql(
      `create table "certificate_request" ("id" uuid not null, "profile_id" uuid not null, "caller" text not null, "request_id" text null, "request_fingerprint" text not null, "kind" text not null, "status" text not null, "subject" jsonb not null, "sans" jsonb not null, "params" jsonb not null, "csr_pem" text null, "sealed_private_key" bytea null, "renewal_of_certificate_id" uuid null, "certificate_id" uuid null, "reserved_serial" text null, "error" jsonb null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "certificate_request_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "certificate_request_profile_id_index" on "certificate_request" ("profile_id");`,
    );
    this.addSql(
      `alter table "certificate_authority" add constraint "certificate_authority_parent_id_foreign" foreign key ("parent_id") references "certificate_authority" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `alter table "certificate_authority" add constraint "certificate_authority_type_check" check ("type" in ('ROOT', 'INTERMEDIATE', 'EXTERNAL_INTERMEDIATE'));`,
    );
    this.addSql(
      `alter table "certificate_authority" add constraint "certificate_authority_status_check" check ("status" in ('ACTIVE', 'DISABLED', 'PENDING_CERTIFICATE'));`,
    );
    this.addSql(
      `alter table "certificate_profile" add constraint "certificate_profile_policy_id_foreign" foreign key ("policy_id") references "certificate_policy" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `alter table "certificate_profile" add constraint "certificate_profile_ca_id_foreign" foreign key ("ca_id") references "certificate_authority" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `alter table "certificate_profile" add constraint "certificate_profile_issuer_check" check (("ca_id" is null) = "self_signed");`,
    );
    this.addSql(
      `alter table "certificate_request" add constraint "certificate_request_status_check" check ("status" in ('PENDING_APPROVAL', 'PENDING', 'ISSUED', 'FAILED', 'REJECTED'));`,
    );
    this.addSql(
      `alter table "certificate_request" add constraint "certificate_request_kind_check" check ("kind" in ('ISSUE', 'RENEW'));`,
    );
    this.addSql(
      `create unique index "certificate_request_caller_request_id_key" on "certificate_request" ("caller", "request_id") where "request_id" is not null;`,
    );
    this.addSql(
      `create index "certificate_request_pending_approval_index" on "certificate_request" ("created_at") where "status" = 'PENDING_APPROVAL';`,
    );
    this.addSql(
      `alter table "certificate" add constraint "certificate_ca_id_foreign" foreign key ("ca_id") references "certificate_authority" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `alter table "certificate" add constraint "certificate_certificate_request_id_foreign" foreign key ("certificate_request_id") references "certificate_request" ("id") on update cascade on delete restrict;`,
    );
    this.addSql(
      `create unique index "certificate_ca_serial_key" on "certificate" (coalesce("ca_id", '00000000-0000-0000-0000-000000000000'::uuid), "serial_number");`,
    );
    this.addSql(
      `create index "certificate_created_at_id_index" on "certificate" ("created_at" desc, "id" desc);`,
    );
    this.addSql(
      `create index "certificate_profile_created_at_index" on "certificate" ("profile_id", "created_at" desc, "id" desc);`,
    );
    this.addSql(
      `create index "certificate_ca_created_at_index" on "certificate" ("ca_id", "created_at" desc, "id" desc);`,
    );
    this.addSql(`create index "certificate_not_after_index" on "certificate" ("not_after");`);
    this.addSql(
      `create index "certificate_revoked_index" on "certificate" ("ca_id", "not_after") where "revoked_at" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "certificate" cascade;`);
    this.addSql(`drop table if exists "certificate_request" cascade;`);
    this.addSql(`drop table if exists "certificate_profile" cascade;`);
    this.addSql(`drop table if exists "certificate_policy" cascade;`);
    this.addSql(`drop table if exists "certificate_authority" cascade;`);
  }
}
