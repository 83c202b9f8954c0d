import { Migration } from "@mikro-orm/migrations";

/**
 * How long a certificate authenticates to certmint as a client certificate binding's token
 * (`authenticates_until`), recorded on the request when it is made and copied to the
 * certificate it yields: the expiry of the token that had it issued, or of the credential that
 * token authenticated with (issuance/certificates/credential-lifetime.ts). Null: no bound but the
 * certificate's own and its binding's. And the access tokens whose authority it rests on
 * (`vouched_by`, a JSON array of token ids), so that RevokeAccessToken with
 * revoke_created_tokens takes the certificates a line vouched for, whoever holds their key
 * (access-tokens/line.ts). And until when an ACME External Account Binding key binds, when the
 * client certificate its creator called with was bound earlier than that token's expiry
 * (`usable_until`, acme/eab.ts). Access tokens and EAB keys record their vouchers too (the
 * calling credential's, when it is a client certificate certmint issued: Actor.vouchers), so
 * that a line's cut takes a token or key made over a certificate the line vouched for
 * (access-tokens store createdLine, acme store). The certificates and waiting requests made
 * before it get theirs from the next migration (Migration20261207210000LegacyCredentialLifetime).
 */
export class Migration20261207200000CredentialLifetime extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "certificate_request" add column "authenticates_until" timestamptz null;`,
    );
    this.addSql(`alter table "certificate" add column "authenticates_until" timestamptz null;`);
    this.addSql(`alter table "certificate_request" add column "vouched_by" jsonb null;`);
    this.addSql(`alter table "certificate" add column "vouched_by" jsonb null;`);
    this.addSql(`alter table "acme_eab_key" add column "usable_until" timestamptz null;`);
    this.addSql(`alter table "acme_eab_key" add column "vouched_by" jsonb null;`);
    this.addSql(`alter table "access_token" add column "vouched_by" jsonb null;`);
    this.addSql(
      `create index "access_token_vouched_by_idx" on "access_token" using gin ("vouched_by" jsonb_path_ops) where "vouched_by" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "access_token_vouched_by_idx";`);
    this.addSql(`alter table "access_token" drop column "vouched_by";`);
    this.addSql(`alter table "acme_eab_key" drop column "vouched_by";`);
    this.addSql(`alter table "acme_eab_key" drop column "usable_until";`);
    this.addSql(`alter table "certificate" drop column "vouched_by";`);
    this.addSql(`alter table "certificate_request" drop column "vouched_by";`);
    this.addSql(`alter table "certificate" drop column "authenticates_until";`);
    this.addSql(`alter table "certificate_request" drop column "authenticates_until";`);
  }
}
