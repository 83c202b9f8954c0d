import { Migration } from "@mikro-orm/migrations";

/**
 * The External Account Binding keys each token created, by creator: revoking a token's line
 * (RevokeAccessToken with revoke_created_tokens) revokes the keys its tokens made and the
 * accounts they bound (store/repositories/acme.ts accountsBoundByLine, revokeUnboundKeysOf), and
 * each of those statements would otherwise read every key of every profile. Partial, as
 * access_token's: keys made before creators were recorded are not in it.
 */
export class Migration20261206190000AcmeEabKeyCreatorIndex extends Migration {
  override async up(): Promise<void> {
    await this.execute(
      `create index "acme_eab_key_creator_id_idx" on "acme_eab_key" ("creator_id") where "creator_id" is not null;`,
    );
  }

  override async down(): Promise<void> {
    await this.execute(`drop index "acme_eab_key_creator_id_idx";`);
  }
}
