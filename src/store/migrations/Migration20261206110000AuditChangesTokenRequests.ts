import { Migration } from "@mikro-orm/migrations";

/**
 * - audit_record.changes: what an administrative change set, fields before and after
 *   (src/issuance/audit/changes.ts); null for every record written before, and for issuance
 *   records. A nullable column without a default: no table rewrite.
 * - access_token.request_fingerprint and secret_salt: CreateAccessToken with a request_id
 *   (src/issuance/access-tokens/request-id.ts). The primary key (the token's id, derived from
 *   the creator and the request_id) is what makes a retry find the first call's token.
 */
export class Migration20261206110000AuditChangesTokenRequests extends Migration {
  override async up(): Promise<void> {
    await this.execute(`alter table "audit_record" add column "changes" jsonb null;`);
    await this.execute(
      `alter table "access_token" add column "request_fingerprint" text null, add column "secret_salt" bytea null;`,
    );
  }

  override async down(): Promise<void> {
    await this.execute(
      `alter table "access_token" drop column "secret_salt", drop column "request_fingerprint";`,
    );
    await this.execute(`alter table "audit_record" drop column "changes";`);
  }
}
