import { Migration } from "@mikro-orm/migrations";

/**
 * certificate_request.claimed_by: the approver (its access token's id, or the system actor's)
 * whose approval claimed the request (PENDING_APPROVAL -> PENDING, its serial reserved:
 * claimForSigning). A PENDING row did not say whether an approval claimed it or a version that
 * recorded the intent before signing wrote it, so a requester's replay that took over a claim
 * left by an approver that died signed it without the checks the approval makes under the
 * request's lock (takeover.ts; until stop 47 of 2026-12-06). Null on rows claimed before this
 * column and on rows no approval claimed: a takeover of those does what it did before. Meaningful
 * only while the request is PENDING; a claim undone (back to PENDING_APPROVAL) leaves it, and the
 * next claim overwrites it. A nullable column without default: no row is rewritten.
 */
export class Migration20261206160000RequestClaimedBy extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "certificate_request" add column "claimed_by" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "certificate_request" drop column "claimed_by";`);
  }
}
