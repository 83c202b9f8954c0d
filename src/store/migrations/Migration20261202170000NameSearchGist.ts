import { Migration } from "@mikro-orm/migrations";

/**
 * ListCertificates(name_contains) served by a trigram GiST index instead of a GIN one (issue
 * 14). An inventory's names share their suffixes (every name ends in the same domain), so most
 * trigrams of a searched name occur in nearly every row; a GIN scan reads the posting lists of
 * all of them (6,368 pages, 54 ms, for one name among 10^6 certificates, growing with the
 * table), while a GiST scan descends by signature, where the shared trigrams rule nothing out
 * and the rare ones decide: 0.6 ms on the same table (bench/scale). siglen=256 (bytes): a
 * signature must hold a name's 30-60 trigrams; the default 12 bytes saturates. Same name and
 * column, so the reads and their plans (certificate-page.ts) are unchanged but for the scan.
 */
export class Migration20261202170000NameSearchGist extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index if exists "certificate_search_names_trgm_index";`);
    this.addSql(
      `create index "certificate_search_names_trgm_index" on "certificate" using gist ("search_names" gist_trgm_ops(siglen=256));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "certificate_search_names_trgm_index";`);
    this.addSql(
      `create index "certificate_search_names_trgm_index" on "certificate" using gin ("search_names" gin_trgm_ops);`,
    );
  }
}
