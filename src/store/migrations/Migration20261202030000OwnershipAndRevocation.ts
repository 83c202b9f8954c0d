import { Migration } from "@mikro-orm/migrations";

/**
 * certificate.owner: the access token that holds the certificate's private key (issue 10.3):
 * only it may renew the certificate (unless the profile shares renewal) and only it ever
 * receives a stored key. Existing certificates belong to the token that requested them.
 *
 * certificate_request.key_held_until: a generated key kept sealed on the request so a replay
 * of its request_id (a lost answer) gets it again; the sweep deletes it after this time.
 * Null with a sealed key: a key waiting for approval, deleted when its requester fetches it.
 *
 * certificate_profile.allow_self_approval: whether the requester may approve its own request.
 *
 * certificate_authority.revoked_at / revocation_reason: an intermediate revoked by its parent
 * (listed in the parent's CRL); revocation_count: revocations of what the CA issued, bumped in
 * the revoking transaction so every replica's published CRL notices (issue 11).
 */
export class Migration20261202030000OwnershipAndRevocation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "certificate" add column "owner" text null;`);
    this.addSql(
      `update "certificate" c set "owner" = r."caller" from "certificate_request" r where r."id" = c."certificate_request_id";`,
    );
    this.addSql(`alter table "certificate" alter column "owner" set not null;`);
    this.addSql(`alter table "certificate_request" add column "key_held_until" timestamptz null;`);
    this.addSql(
      `create index "certificate_request_key_held_until_index" on "certificate_request" ("key_held_until") where "key_held_until" is not null;`,
    );
    this.addSql(
      `alter table "certificate_profile" add column "allow_self_approval" boolean not null default false;`,
    );
    this.addSql(
      `alter table "certificate_authority" add column "revoked_at" timestamptz null, add column "revocation_reason" text null, add column "revocation_count" bigint not null default 0;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "certificate_authority" drop column "revoked_at", drop column "revocation_reason", drop column "revocation_count";`,
    );
    this.addSql(`alter table "certificate_profile" drop column "allow_self_approval";`);
    this.addSql(`drop index if exists "certificate_request_key_held_until_index";`);
    this.addSql(`alter table "certificate_request" drop column "key_held_until";`);
    this.addSql(`alter table "certificate" drop column "owner";`);
  }
}
