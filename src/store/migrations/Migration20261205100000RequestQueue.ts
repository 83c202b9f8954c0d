import { Migration } from "@mikro-orm/migrations";

/**
 * certificate_request_unissued_index: the requests that did not end ISSUED, oldest first, for
 * ListCertificateRequests (an approver's queue of PENDING_APPROVAL requests, the FAILED and
 * REJECTED ones). Partial: an issuance's request is inserted ISSUED (sign-then-store) and never
 * enters it, so the hot path writes no entry more; a waiting request leaves it when it is
 * issued.
 */
export class Migration20261205100000RequestQueue extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "certificate_request_unissued_index" on "certificate_request" ("created_at", "id") where "status" <> 'ISSUED';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "certificate_request_unissued_index";`);
  }
}
