import { Migration } from "@mikro-orm/migrations";

/** kek_check: a value sealed with the key-encryption key, checked at every start-up. */
export class Migration20261126010000KekCheck extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "kek_check" ("id" int not null, "sealed" bytea not null, "created_at" timestamptz not null, constraint "kek_check_pkey" primary key ("id"), constraint "kek_check_single_row" check ("id" = 1));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "kek_check";`);
  }
}
