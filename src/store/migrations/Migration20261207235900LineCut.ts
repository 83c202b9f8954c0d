import { Migration } from "@mikro-orm/migrations";

/**
 * When a token's line was cut (RevokeAccessToken with revoke_created_tokens): set on the token
 * named and every token of its line by the cut's transaction, never cleared. What a credential
 * vouched for by such a token makes is refused from then on, and waits while a cut holds the
 * token (access-tokens/line-guard.ts): until stop 59 of 2026-12-07 a workload authenticating with
 * a client certificate a leaked admin token had issued kept issuing certificates vouched for by
 * that token while the cut ran, faster than the cut revoked them, and the cut never ended (an
 * outside probe). A plain revocation does not set it: it leaves what the token made in force.
 * No row is rewritten (a nullable column without a default).
 */
export class Migration20261207235900LineCut extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "access_token" add column "line_cut_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "access_token" drop column "line_cut_at";`);
  }
}
