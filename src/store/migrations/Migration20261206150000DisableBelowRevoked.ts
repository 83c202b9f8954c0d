import { Migration } from "@mikro-orm/migrations";

/**
 * Disables every CA left ACTIVE below a revoked CA. Until stop 45 of 2026-12-06 an enable
 * racing the revocation of a CA above it could write ACTIVE just after the revocation had
 * disabled the CAs below (an outside probe; src/issuance/ca/update.ts now decides it under the
 * revocation's signing locks), and such a CA went on signing under a revoked parent. A
 * revocation disables them for good; this does what it would have. Nothing else changes, and a
 * database without such a CA is left as it is.
 */
export class Migration20261206150000DisableBelowRevoked extends Migration {
  override async up(): Promise<void> {
    this.addSql(`with recursive "below" as (
        select c."id" from "certificate_authority" c
          join "certificate_authority" p on p."id" = c."parent_id"
         where p."revoked_at" is not null
        union
        select c."id" from "certificate_authority" c join "below" b on c."parent_id" = b."id")
      update "certificate_authority" set "status" = 'DISABLED', "version" = "version" + 1, "updated_at" = now()
       where "id" in (select "id" from "below") and "status" = 'ACTIVE';`);
  }

  override async down(): Promise<void> {
    // A repair: nothing to undo (the CAs it disabled were disabled for good by their revocation).
  }
}
