import { Migration } from "@mikro-orm/migrations";

/**
 * Indexes for three reads whose cost grew with what other profiles or accounts did
 * (bench/scale/watch-index.ts measures each, before and after).
 *
 * certificate_event_profile_position_index: a profile's numbered events in cursor order, so a
 * watch on a profile reads that profile's events and no other's (readAfter in
 * src/store/repositories/certificate-events.ts). Without it each wake of an idle profile watch
 * read every event numbered since its last read, matched or not: watches x the round's events.
 * Partial (`position is not null`): an event gets its entry when the sequencer numbers it, not
 * when it is written (that UPDATE already writes new entries in every other index of the
 * table, the position being indexed), so it adds one index entry per event, none for events
 * waiting to be numbered.
 *
 * acme_order_sweep_index: orders that never led to a certificate, by expiry, so the listener's
 * hourly sweep (sweepOrders in src/store/repositories/acme.ts) reads the orders it may delete
 * instead of the whole table, which keeps every order that issued for good. On
 * `certificate_id is null` rather than on the statuses the sweep deletes: an order's status
 * changes three or four times (pending, ready, processing, valid), and a column in an index's
 * predicate makes each such UPDATE write new entries in every index of the table (not a HOT
 * update); certificate_id changes once, when the order issues, and the order then leaves the
 * index. Orders processing (waiting for an approver) stay in it and are skipped by the sweep.
 *
 * acme_order_replaces_index: the order that replaces a certificate (RFC 9773 7, `replacedBy`),
 * looked up on every newOrder that names one (an ARI renewal); without it a sequential scan of
 * acme_order. Partial: orders that replace nothing have no entry.
 *
 * What they cost (bench/scale/watch-index.ts, PostgreSQL 15, 10^6 events and 10^6 orders): the
 * event index 39 MB beside the position index's 21 MB, and 300 bytes of WAL per event numbered
 * right after a checkpoint (883 -> 1,184; 182 of them page images, which later events of the
 * same checkpoint share; nothing more when an event is written); the sweep index 440 kB (orders
 * that never issued) and 200 bytes of WAL per order that issues (the UPDATE that sets its
 * certificate is no longer HOT); the replaces index 14 MB (half the orders replacing one).
 *
 * Built in the migration's transaction, as every index here is: it holds off writes to the
 * table while it is built (1.2-2.7 s for 10^6 events, under 2 s each for 10^6 orders, on a
 * busy 2-core machine).
 */
export class Migration20261204100000WatchAndSweepIndexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "certificate_event_profile_position_index" on "certificate_event" ("profile_id", "position") where "position" is not null;`,
    );
    this.addSql(
      `create index "acme_order_sweep_index" on "acme_order" ("expires_at") where "certificate_id" is null;`,
    );
    this.addSql(
      `create index "acme_order_replaces_index" on "acme_order" ("replaces") where "replaces" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "acme_order_replaces_index";`);
    this.addSql(`drop index if exists "acme_order_sweep_index";`);
    this.addSql(`drop index if exists "certificate_event_profile_position_index";`);
  }
}
