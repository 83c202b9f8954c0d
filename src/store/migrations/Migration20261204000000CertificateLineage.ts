import { Migration } from "@mikro-orm/migrations";

/**
 * Where each certificate stands in its lineage (the chain of renewals linked by
 * renewed_by_id), so GetCurrentCertificate and a lineage watch cost the same for a lineage of
 * one certificate and of 100,000: both used to walk the chain, one index lookup per link, on
 * every call (an issuer token renewing at its rate limit builds 100,000 links in minutes).
 *
 * certificate.lineage_id: the id of the lineage's first certificate; lineage_depth: the
 * renewals from it to this one. Both null on a lineage's first certificate (a fresh issuance:
 * its own id, depth 0), so an issuance that renews nothing writes no byte and no index entry
 * more. A renewal takes its predecessor's lineage, one deeper: set as it is inserted by the
 * trigger certificate_lineage (whoever inserts it, plain SQL or a replica still on the code
 * before this migration during a rolling start), unless the insert sets them.
 *
 * certificate_lineage_head_index: the newest certificate of each lineage that was renewed at
 * least once (not renewed itself: a lineage is linear, a certificate renewed at most once), so
 * "the newest of this lineage" is one lookup. Partial: a fresh issuance adds no entry, and the
 * UPDATE that links a renewed certificate to its successor adds none either (it was not HOT
 * before: renewed_by_id is in the predicates of certificate_auto_renew_at_index and
 * certificate_expiry_note_index).
 *
 * certificate_event.lineage_id, lineage_depth: the same, copied from the certificate, so a
 * lineage watch filters the event feed by its lineage and depth instead of by every id of the
 * lineage. RENEWAL_FAILED and EXPIRING events (written by the renewer) get them from their
 * certificate by the trigger certificate_event_lineage. They cost every event row 8 bytes (its
 * null bitmap outgrows one byte: 80 -> 88 bytes for an ISSUED event); a certificate's row
 * keeps its size (5 bytes of null bitmap before and after).
 *
 * Existing rows are backfilled: each lineage walked once from its first certificate (one
 * recursive statement, following renewed_by_id through the primary key, each link checked
 * against the successor's renewed_from_id so a corrupted link cannot loop), then the events
 * (those of the retention period) of renewed certificates: every renewed certificate's row is
 * written again, 67 s and 2.3 GiB of WAL for 190,000 renewals among 300,000 certificates (one
 * lineage of 100,000 links) on a busy 2-core machine.
 */
export class Migration20261204000000CertificateLineage extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "certificate" add column "lineage_id" uuid null, add column "lineage_depth" int null;`,
    );
    this.addSql(
      `alter table "certificate_event" add column "lineage_id" uuid null, add column "lineage_depth" int null;`,
    );
    // Each step a lookup by primary key (the lateral subquery, kept apart by `offset 0`): joined
    // plainly, PostgreSQL hashed the whole table for the step and ran the step once per link
    // of the longest lineage (still running after 19 minutes for 300,000 certificates with a
    // lineage of 100,000 links, where this takes 4 s).
    this.addSql(`with recursive "line" ("id", "next", "root", "depth") as (
       select "id", "renewed_by_id", "id", 0 from "certificate"
        where "renewed_from_id" is null and "renewed_by_id" is not null
       union all
       select "c"."id", "c"."renewed_by_id", "line"."root", "line"."depth" + 1
         from "line" cross join lateral (
           select "id", "renewed_by_id" from "certificate"
            where "id" = "line"."next" and "renewed_from_id" = "line"."id" offset 0) "c"
     )
     update "certificate" "c" set "lineage_id" = "line"."root", "lineage_depth" = "line"."depth"
       from "line" where "c"."id" = "line"."id" and "line"."depth" > 0;`);
    this.addSql(
      `update "certificate_event" "e" set "lineage_id" = "c"."lineage_id", "lineage_depth" = "c"."lineage_depth"
         from "certificate" "c" where "c"."id" = "e"."certificate_id" and "c"."lineage_id" is not null;`,
    );
    this.addSql(
      `create index "certificate_lineage_head_index" on "certificate" ("lineage_id") where "renewed_by_id" is null and "lineage_id" is not null;`,
    );
    this.addSql(`create function "certmint_certificate_lineage"() returns trigger language plpgsql as $$
begin
  select coalesce("p"."lineage_id", "p"."id"), coalesce("p"."lineage_depth", 0) + 1
    into new."lineage_id", new."lineage_depth"
    from "certificate" "p" where "p"."id" = new."renewed_from_id";
  return new;
end $$;`);
    this.addSql(
      `create trigger "certificate_lineage" before insert on "certificate" for each row when (new."renewed_from_id" is not null and new."lineage_id" is null) execute function "certmint_certificate_lineage"();`,
    );
    this.addSql(`create or replace function "certmint_certificate_event"() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into "certificate_event" ("type", "certificate_id", "profile_id", "previous_certificate_id", "lineage_id", "lineage_depth")
      values (case when new."renewed_from_id" is null then 'ISSUED' else 'RENEWED' end,
              new."id", new."profile_id", new."renewed_from_id", new."lineage_id", new."lineage_depth");
  else
    insert into "certificate_event" ("type", "certificate_id", "profile_id", "lineage_id", "lineage_depth")
      values ('REVOKED', new."id", new."profile_id", new."lineage_id", new."lineage_depth");
  end if;
  return null;
end $$;`);
    this.addSql(`create function "certmint_certificate_event_lineage"() returns trigger language plpgsql as $$
begin
  select "c"."lineage_id", "c"."lineage_depth" into new."lineage_id", new."lineage_depth"
    from "certificate" "c" where "c"."id" = new."certificate_id";
  return new;
end $$;`);
    this.addSql(
      `create trigger "certificate_event_lineage" before insert on "certificate_event" for each row when (new."lineage_id" is null and new."type" in ('RENEWAL_FAILED', 'EXPIRING')) execute function "certmint_certificate_event_lineage"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "certificate_event_lineage" on "certificate_event";`);
    this.addSql(`drop function if exists "certmint_certificate_event_lineage"();`);
    this.addSql(`create or replace function "certmint_certificate_event"() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    insert into "certificate_event" ("type", "certificate_id", "profile_id", "previous_certificate_id")
      values (case when new."renewed_from_id" is null then 'ISSUED' else 'RENEWED' end,
              new."id", new."profile_id", new."renewed_from_id");
  else
    insert into "certificate_event" ("type", "certificate_id", "profile_id")
      values ('REVOKED', new."id", new."profile_id");
  end if;
  return null;
end $$;`);
    this.addSql(`drop trigger if exists "certificate_lineage" on "certificate";`);
    this.addSql(`drop function if exists "certmint_certificate_lineage"();`);
    this.addSql(`drop index if exists "certificate_lineage_head_index";`);
    this.addSql(
      `alter table "certificate_event" drop column "lineage_id", drop column "lineage_depth";`,
    );
    this.addSql(`alter table "certificate" drop column "lineage_id", drop column "lineage_depth";`);
  }
}
