import { Migration } from "@mikro-orm/migrations";

/**
 * ListCertificates(name_contains): the trigram index is built over the names with their
 * separators made letters (certmint_search_key), so a trigram spans a dot or a hyphen (issue 14,
 * flat reads).
 *
 * pg_trgm splits text into words at every character that is not a letter or a digit and takes
 * trigrams within words only. A searched name is then a set of words, and any name holding
 * those words in another order or with others between them holds every one of its trigrams:
 * `svc-450.bench.example.com` has no trigram that `svc-450.f120.bench.example.com` lacks, so at
 * 10^6 certificates the index returned 1,332 candidates for 9 matches (19-38 ms, the p99 of
 * bench/scale's name contains, 4x the empty database's). With `.` and `-` as letters the needle is
 * one word, and its trigrams across the separators (`0.b`, as `0qb`) rule those out: on 4x10^5
 * such names, 41 candidates instead of 401 and 1.2 ms instead of 4.2 for that needle, 0.19
 * instead of 0.31 ms for a usual one (EXPLAIN ANALYZE, warm).
 *
 * The letters chosen may occur in names: a candidate the key matches but the name does not is
 * dropped by the plain `search_names like` beside it (certificate-page.ts), so results are exact;
 * the key only narrows. The index keeps its name; building it on an existing inventory reads every
 * certificate once (about 20 s per 10^6 on 2 cores), inside the migration's transaction.
 */
export class Migration20261205200000NameSearchWords extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create function "certmint_search_key"("names" text) returns text
  language sql immutable strict parallel safe
  as $$ select translate("names", '.-_@:/*', 'qjwkxvz') $$;`);
    this.addSql(`drop index if exists "certificate_search_names_trgm_index";`);
    this.addSql(
      `create index "certificate_search_names_trgm_index" on "certificate" using gist ("certmint_search_key"("search_names") gist_trgm_ops(siglen=256));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "certificate_search_names_trgm_index";`);
    this.addSql(
      `create index "certificate_search_names_trgm_index" on "certificate" using gist ("search_names" gist_trgm_ops(siglen=256));`,
    );
    this.addSql(`drop function "certmint_search_key"(text);`);
  }
}
