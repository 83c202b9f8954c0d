import { Migration } from "@mikro-orm/migrations";

/**
 * Server-driven renewal and certificate events (issue 13).
 *
 * certificate.renewal_*: where automatic renewal stands for a certificate. A replica claims a
 * due certificate by setting renewal_lease_until (in a `FOR UPDATE SKIP LOCKED` select, so
 * replicas never claim the same row at once); a replica that dies leaves a lease that runs
 * out, and another one takes the certificate over. renewal_state FAILED with renewal_error and
 * renewal_retry_at is a failed attempt, retried with backoff; AWAITING_APPROVAL waits for an
 * approver. expiry_notified_at: the EXPIRING event was written (once per certificate).
 *
 * certificate_event: what watchers receive. Rows are written by triggers on certificate (an
 * insert is ISSUED or RENEWED, revoked_at set is REVOKED), so every issuance path writes them
 * in the transaction of the change without code of its own, and by the renewer (RENEWAL_FAILED,
 * EXPIRING). `position` is the cursor, assigned after commit by one sequencer at a time
 * (src/store/repositories/certificate-events.ts): a bigserial alone is not a safe cursor, since ids are
 * taken at insert and committed out of order, and a reader past id 11 would miss a 10 that
 * commits later. certificate_event_horizon: the highest position deleted for age (retention).
 * The triggers do not NOTIFY: NOTIFY takes a database-wide lock at commit, which
 * would serialise every issuance's commit; the sequencer notifies once per batch instead.
 */
export class Migration20261202100000RenewalAndEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "certificate" add column "renewal_state" text null, add column "renewal_failures" int not null default 0, add column "renewal_error" jsonb null, add column "renewal_retry_at" timestamptz null, add column "renewal_lease_until" timestamptz null, add column "renewal_request_id" uuid null, add column "expiry_notified_at" timestamptz null;`,
    );
    // renew_at: when a certificate is due (its profile's renew_before, else renew_before_days,
    // else two thirds of its lifetime, as cert-manager); auto_renew_at: the same when its
    // profile renews automatically, else null. Kept by triggers (set on insert, recomputed
    // for a profile's active certificates when its renewal settings change), so the renewer
    // reads an index range of what is due now instead of scanning every active certificate.
    this.addSql(
      `alter table "certificate" add column "renew_at" timestamptz null, add column "auto_renew_at" timestamptz null;`,
    );
    this.addSql(`create function "certmint_renew_at"("renewal" jsonb, "nb" timestamptz, "na" timestamptz)
  returns timestamptz language sql immutable as $$
  select case
    when coalesce(("renewal"->>'renewBeforeSeconds')::bigint, 0) > 0
      then "na" - ("renewal"->>'renewBeforeSeconds')::bigint * interval '1 second'
    when coalesce(("renewal"->>'renewBeforeDays')::bigint, 0) > 0
      then "na" - ("renewal"->>'renewBeforeDays')::bigint * interval '1 day'
    else "na" - ("na" - "nb") / 3
  end $$;`);
    this.addSql(`create function "certmint_certificate_renew_at"() returns trigger language plpgsql as $$
declare
  "r" jsonb := (select "renewal" from "certificate_profile" where "id" = new."profile_id");
begin
  new."renew_at" := case when "r" is null then null else "certmint_renew_at"("r", new."not_before", new."not_after") end;
  new."auto_renew_at" := case when "r" @> '{"autoRenew": true}'::jsonb then new."renew_at" end;
  return new;
end $$;`);
    this.addSql(
      `create trigger "certificate_renew_at" before insert on "certificate" for each row execute function "certmint_certificate_renew_at"();`,
    );
    this.addSql(`create function "certmint_profile_renew_at"() returns trigger language plpgsql as $$
begin
  update "certificate" set
      "renew_at" = "certmint_renew_at"(new."renewal", "not_before", "not_after"),
      "auto_renew_at" = case when new."renewal" @> '{"autoRenew": true}'::jsonb
                             then "certmint_renew_at"(new."renewal", "not_before", "not_after") end
    where "profile_id" = new."id" and "renewed_by_id" is null and "revoked_at" is null;
  return null;
end $$;`);
    this.addSql(
      `create trigger "certificate_profile_renew_at" after update of "renewal" on "certificate_profile" for each row when (old."renewal" is distinct from new."renewal") execute function "certmint_profile_renew_at"();`,
    );
    this.addSql(
      `update "certificate" "c" set "renew_at" = "certmint_renew_at"("p"."renewal", "c"."not_before", "c"."not_after"),
         "auto_renew_at" = case when "p"."renewal" @> '{"autoRenew": true}'::jsonb
                                then "certmint_renew_at"("p"."renewal", "c"."not_before", "c"."not_after") end
        from "certificate_profile" "p" where "p"."id" = "c"."profile_id";`,
    );
    // What the renewer claims from, and what it notes as nearing expiry (once each).
    this.addSql(
      `create index "certificate_auto_renew_at_index" on "certificate" ("auto_renew_at") where "renewed_by_id" is null and "revoked_at" is null and "auto_renew_at" is not null;`,
    );
    this.addSql(
      `create index "certificate_expiry_note_index" on "certificate" ("renew_at") where "renewed_by_id" is null and "revoked_at" is null and "expiry_notified_at" is null;`,
    );
    this.addSql(
      `create table "certificate_event" ("id" bigserial primary key, "position" bigint null, "type" text not null, "certificate_id" uuid not null, "profile_id" uuid null, "previous_certificate_id" uuid null, "error" jsonb null, "created_at" timestamptz not null default clock_timestamp());`,
    );
    this.addSql(
      `create unique index "certificate_event_position_index" on "certificate_event" ("position");`,
    );
    this.addSql(
      `create index "certificate_event_unsequenced_index" on "certificate_event" ("id") where "position" is null;`,
    );
    this.addSql(`create sequence "certificate_event_position_seq";`);
    // Events past their retention are deleted; a cursor at or below this position can no
    // longer be resumed from (its watcher re-reads the current certificate instead).
    this.addSql(
      `create table "certificate_event_horizon" ("id" int primary key check ("id" = 1), "position" bigint not null);`,
    );
    this.addSql(`insert into "certificate_event_horizon" ("id", "position") values (1, 0);`);
    this.addSql(
      `create index "certificate_event_created_at_index" on "certificate_event" ("created_at");`,
    );
    this.addSql(`create function "certmint_certificate_event"() returns trigger language plpgsql as $$
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
    this.addSql(
      `create trigger "certificate_event_issued" after insert on "certificate" for each row execute function "certmint_certificate_event"();`,
    );
    this.addSql(
      `create trigger "certificate_event_revoked" after update of "revoked_at" on "certificate" for each row when (old."revoked_at" is null and new."revoked_at" is not null) execute function "certmint_certificate_event"();`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists "certificate_event_revoked" on "certificate";`);
    this.addSql(`drop trigger if exists "certificate_event_issued" on "certificate";`);
    this.addSql(`drop function if exists "certmint_certificate_event"();`);
    this.addSql(`drop table if exists "certificate_event_horizon";`);
    this.addSql(`drop sequence if exists "certificate_event_position_seq";`);
    this.addSql(`drop table if exists "certificate_event";`);
    this.addSql(`drop index if exists "certificate_expiry_note_index";`);
    this.addSql(`drop index if exists "certificate_auto_renew_at_index";`);
    this.addSql(`drop trigger if exists "certificate_profile_renew_at" on "certificate_profile";`);
    this.addSql(`drop trigger if exists "certificate_renew_at" on "certificate";`);
    this.addSql(`drop function if exists "certmint_profile_renew_at"();`);
    this.addSql(`drop function if exists "certmint_certificate_renew_at"();`);
    this.addSql(`drop function if exists "certmint_renew_at"(jsonb, timestamptz, timestamptz);`);
    this.addSql(
      `alter table "certificate" drop column "renew_at", drop column "auto_renew_at", drop column "renewal_state", drop column "renewal_failures", drop column "renewal_error", drop column "renewal_retry_at", drop column "renewal_lease_until", drop column "renewal_request_id", drop column "expiry_notified_at";`,
    );
  }
}
