import { Migration } from "@mikro-orm/migrations";

/**
 * The bound and vouchers of the certificates and waiting requests made before
 * Migration20261207200000CredentialLifetime, which left them null. Without it, an upgraded
 * deployment kept the gap stop 56 closed for new certificates: a client certificate that an
 * admin token with an hour left had issued for a binding, valid for the profile's whole TTL,
 * authenticated as that binding for the rest of it, and so did the certificates its workload
 * renewed from it.
 *
 * What stop 56 records at issuance (issuance/certificates/credential-lifetime.ts), rebuilt from
 * what each row kept (the request's caller, the certificate's owner, its lineage):
 *  - `authenticates_until`: the earliest expiry of the admin tokens that had the certificate,
 *    or one before it in its lineage, issued or renewed (certificate_request.caller), except
 *    certmint's first admin token (creator_id null), which bounds nothing. Which credential an
 *    admin's call authenticated with (a client certificate with a bound of its own) was not
 *    recorded, so this is the token's bound alone. Another token's certificates never
 *    authenticate as anyone else (auth/client-certificates.ts mayPresent) and stay unbound, as
 *    they are issued now;
 *  - `vouched_by`: the callers of the certificate's request and of those before it in its
 *    lineage, and the owners before it, besides its own owner (sign.ts), so that a line's cut
 *    (RevokeAccessToken revoke_created_tokens) takes a workload's renewal of a certificate the
 *    line issued;
 *  - a request still waiting (approval, or an intent not yet signed): its caller's bound and
 *    that of the certificate it renews, which its certificate takes when signed.
 * Earlier bounds and recorded vouchers are kept (least, union): a row recorded by stop 56's
 * code is left as it is. A certificate whose bound has passed is refused at its next
 * authentication (CLIENT_CERTIFICATE_CREATOR_EXPIRED, README: Upgrading).
 *
 * Each lineage is read through lineage_id and lineage_depth (Migration20261204000000
 * CertificateLineage), with a window over the lineage instead of a walk of its links; only
 * certificates in a lineage of more than one, or requested by a bounded admin token, are
 * written: 6.2 s for 10^6 certificates, 10,000 of them issued by an admin token and 10,000
 * renewals of those, on a 2-core machine.
 */
export class Migration20261207210000LegacyCredentialLifetime extends Migration {
  override async up(): Promise<void> {
    this.addSql(`with "row" as (
       select "c"."id", coalesce("c"."lineage_id", "c"."id") as "lineage",
              coalesce("c"."lineage_depth", 0) as "depth", "t"."expires_at" as "bound"
         from "certificate" "c"
         join "certificate_request" "r" on "r"."id" = "c"."certificate_request_id"
         left join "access_token" "t" on "t"."id"::text = "r"."caller"
              and "t"."role" = 'ADMIN' and "t"."creator_id" is not null
        where "c"."lineage_id" is not null or "c"."renewed_by_id" is not null or "t"."id" is not null
     ), "bounded" as (
       select "id", min("bound") over (partition by "lineage" order by "depth"
                rows between unbounded preceding and current row) as "until"
         from "row"
     )
     update "certificate" "c" set "authenticates_until" = "b"."until"
       from "bounded" "b"
      where "c"."id" = "b"."id" and "b"."until" is not null
        and ("c"."authenticates_until" is null or "b"."until" < "c"."authenticates_until");`);
    // A row's caller vouches for it and those after it in the lineage; its owner for those
    // after it only (a renewal is vouched for by whoever kept the certificate renewed).
    this.addSql(`with "row" as (
       select "c"."id", coalesce("c"."lineage_id", "c"."id") as "lineage",
              coalesce("c"."lineage_depth", 0) as "depth", "c"."owner", "r"."caller"
         from "certificate" "c"
         join "certificate_request" "r" on "r"."id" = "c"."certificate_request_id"
        where "c"."lineage_id" is not null or "c"."renewed_by_id" is not null
           or "r"."caller" <> "c"."owner"
     ), "voucher" as (
       select "lineage", "caller" as "id", min("depth") as "from_depth" from "row" group by 1, 2
       union all
       select "lineage", "owner", min("depth") + 1 from "row" group by 1, 2
     ), "earlier" as (
       select "w"."id", jsonb_agg(distinct "v"."id") as "ids"
         from "row" "w"
         join "voucher" "v" on "v"."lineage" = "w"."lineage" and "v"."from_depth" <= "w"."depth"
              and "v"."id" <> "w"."owner"
        group by "w"."id"
     )
     update "certificate" "c" set "vouched_by" = (
         select jsonb_agg(distinct "e"."v")
           from jsonb_array_elements_text(coalesce("c"."vouched_by", '[]'::jsonb) || "x"."ids") "e"("v")
          where "e"."v" <> "c"."owner")
       from "earlier" "x"
      where "c"."id" = "x"."id" and not (coalesce("c"."vouched_by", '[]'::jsonb) @> "x"."ids");`);
    this.addSql(`update "certificate_request" "r"
        set "authenticates_until" = "n"."until", "vouched_by" = "n"."vouchers"
       from (
         select "q"."id",
                least("q"."authenticates_until", "t"."expires_at", "o"."authenticates_until") as "until",
                (select jsonb_agg(distinct "e"."v")
                   from jsonb_array_elements_text(coalesce("q"."vouched_by", '[]'::jsonb)
                        || case when "o"."id" is null then '[]'::jsonb
                                else jsonb_build_array("o"."owner") || coalesce("o"."vouched_by", '[]'::jsonb) end) "e"("v")
                  where "e"."v" <> "q"."caller") as "vouchers"
           from "certificate_request" "q"
           left join "access_token" "t" on "t"."id"::text = "q"."caller"
                and "t"."role" = 'ADMIN' and "t"."creator_id" is not null
           left join "certificate" "o" on "o"."id" = "q"."renewal_of_certificate_id"
          where "q"."status" in ('PENDING_APPROVAL', 'PENDING') and "q"."certificate_id" is null
       ) "n"
      where "r"."id" = "n"."id"
        and ("r"."authenticates_until" is distinct from "n"."until"
             or not (coalesce("r"."vouched_by", '[]'::jsonb) @> coalesce("n"."vouchers", '[]'::jsonb)));`);
  }

  override async down(): Promise<void> {
    // What it filled in cannot be told from what stop 56's code recorded: left as it is.
  }
}
