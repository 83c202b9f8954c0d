import { Migration } from "@mikro-orm/migrations";

/**
 * Client certificate bindings name their identity type and their issuing CA (issue 10 item 1).
 *
 * Before, `client_identity` matched a certificate's first URI SAN, or else its subject common
 * name, from any CA the TLS handshake trusted: a certificate with a SPIFFE ID as its CN passed
 * for that SPIFFE ID. Now a binding reads exactly one field (`client_identity_type`) and names
 * the CA that must be on the certificate's issuing chain (`client_ca_sha256`, and
 * `client_ca_id` when it is a certmint CA).
 *
 * Existing bindings get the safe reading of their string: one with a URI scheme
 * ("spiffe://...", "urn:...") is a URI SAN binding, so a common name no longer matches it;
 * anything else could only ever have matched a common name (a certificate with a URI SAN was
 * identified by that URI), so it stays a common-name binding. No CA can be inferred for them:
 * they are left without one, and a binding without a CA authenticates nobody
 * (CLIENT_CERTIFICATE_BINDING_INCOMPLETE) until an admin binds the identity again with its CA
 * (src/auth/client-certificates.ts).
 *
 * The identity is unique per type and CA among tokens that are not revoked (before: unique
 * among all tokens, so a revoked binding could never be replaced).
 */
export class Migration20261202010000ClientCertificateBinding extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "access_token" add column "client_identity_type" text null, add column "client_ca_id" uuid null, add column "client_ca_sha256" text null;`,
    );
    this.addSql(
      `update "access_token" set "client_identity_type" = case when "client_identity" ~ '^[A-Za-z][A-Za-z0-9+.-]*:' then 'URI_SAN' else 'COMMON_NAME' end where "client_identity" is not null;`,
    );
    this.addSql(
      `alter table "access_token" add constraint "access_token_client_identity_typed" check (("client_identity" is null) = ("client_identity_type" is null) and ("client_ca_id" is null or "client_ca_sha256" is not null));`,
    );
    this.addSql(`alter table "access_token" drop constraint "access_token_client_identity_key";`);
    this.addSql(
      `create unique index "access_token_client_binding_key" on "access_token" ("client_identity_type", "client_identity", "client_ca_sha256") where "revoked_at" is null;`,
    );
    this.addSql(
      `create index "access_token_client_identity_index" on "access_token" ("client_identity");`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "access_token_client_identity_index";`);
    this.addSql(`drop index if exists "access_token_client_binding_key";`);
    this.addSql(
      `alter table "access_token" add constraint "access_token_client_identity_key" unique ("client_identity");`,
    );
    this.addSql(
      `alter table "access_token" drop constraint "access_token_client_identity_typed", drop column "client_ca_sha256", drop column "client_ca_id", drop column "client_identity_type";`,
    );
  }
}
