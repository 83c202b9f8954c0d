import { Migration } from "@mikro-orm/migrations";

/**
 * The tokens each token created, by creator: RevokeAccessToken with revoke_created_tokens walks a
 * token's line one level per step (store/repositories/access-tokens.ts createdLine), and each
 * step would otherwise read the whole access_token table. Partial: tokens nobody created (the
 * bootstrap's) are not in it.
 */
export class Migration20261206170000AccessTokenCreatorIndex extends Migration {
  override async up(): Promise<void> {
    await this.execute(
      `create index "access_token_creator_id_idx" on "access_token" ("creator_id") where "creator_id" is not null;`,
    );
  }

  override async down(): Promise<void> {
    await this.execute(`drop index "access_token_creator_id_idx";`);
  }
}
