import { Migration } from "@mikro-orm/migrations";

/**
 * acme_challenge.started_at: when its validation started (pending -> processing). A validation
 * runs in the process that accepted the challenge, after the answer; if that process stops (or
 * its database goes away for longer than the record's retries) the challenge stayed
 * "processing" until its order expired, with the client polling. With the start time, a poll
 * long after it restarts the validation (acme/handlers/authorizations.ts). Null for challenges
 * started before this column: those count as started long ago.
 */
export class Migration20261203000000AcmeChallengeStarted extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "acme_challenge" add column "started_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "acme_challenge" drop column "started_at";`);
  }
}
