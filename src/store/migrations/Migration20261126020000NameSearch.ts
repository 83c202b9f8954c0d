import { Migration } from "@mikro-orm/migrations";

/**
 * ListCertificates(name_contains) is a substring match on the lower-cased CN and SANs: a
 * trigram GIN index keeps it an index scan at a million certificates (a B-tree cannot serve
 * '%needle%'). pg_trgm ships with PostgreSQL (contrib) and with PGlite (loaded at start).
 */
export class Migration20261126020000NameSearch extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists "pg_trgm";`);
    this.addSql(
      `create index "certificate_search_names_trgm_index" on "certificate" using gin ("search_names" gin_trgm_ops);`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "certificate_search_names_trgm_index";`);
  }
}
