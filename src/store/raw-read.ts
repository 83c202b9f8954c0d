import type { EntityMetadata, MetadataStorage, Platform } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import {
  CertificateAuthorityEntity,
  type CertificateAuthorityRow,
  CertificatePolicyEntity,
  type CertificatePolicyRow,
  CertificateProfileEntity,
  type CertificateProfileRow,
} from "./entities";
import { executePrepared } from "./prepared";

/**
 * Single-statement reads for the issuance hot path (the counterpart of raw-insert.ts). Four
 * ORM finds (prior request, profile, policy, CA) cost four round trips and about 0.2 ms of
 * main-thread CPU each (bench/issue); this reads the same rows in one statement and one
 * snapshot. Rows come back in the shape the ORM gives them (camelCase properties, jsonb
 * parsed, bytea as Buffer, bigint as string, timestamptz as Date parsed as the ORM parses
 * it), built from the entities' metadata, so they follow the entities (src/store/entities).
 * Nothing is cached across calls but the SQL text and the column mapping.
 */

/** A profile named by its id (a lower-case UUID) or its slug. */
export type ProfileKey = { id: string } | { slug: string };

export type PolicyForIssuance = Pick<CertificatePolicyRow, "id" | "slug" | "version" | "spec">;

export interface IssuanceRows {
  /** The request of the same (caller, request_id), when one was asked for and exists. */
  priorRequestId: string | null;
  /** null: no such profile. */
  profile: CertificateProfileRow | null;
  /** The profile's policy; null without a profile (or, impossible under the foreign key, a policy). */
  policy: PolicyForIssuance | null;
  /** The profile's CA; null without a profile, for self-signed profiles (or without the row). */
  ca: CertificateAuthorityRow | null;
}

/** How one entity's columns are selected (aliased `<prefix>.<column>`) and mapped back. */
interface Part {
  select: string;
  /** The aliased column that is null exactly when the joined row is missing (the primary key). */
  key: string;
  map(row: Record<string, unknown>): Record<string, unknown>;
}

function partOf(
  meta: EntityMetadata,
  platform: Platform,
  alias: string,
  only?: readonly string[],
): Part {
  const props = meta.props.filter(
    (p) => p.fieldNames?.length === 1 && (!only || only.includes(p.name)),
  );
  const columns = props.map((p) => ({
    name: p.name,
    as: `${alias}.${p.fieldNames[0]}`,
    // timestamptz arrives as text (MikroORM's pg type parsers) and is parsed as its result
    // mapper parses it; jsonb, bytea, int8 (string), int4 and booleans come typed from pg.
    date: p.runtimeType === "Date",
  }));
  return {
    select: props.map((p, i) => `${alias}."${p.fieldNames[0]}" as "${columns[i]!.as}"`).join(", "),
    key: `${alias}.${meta.properties[meta.primaryKeys[0]!]!.fieldNames[0]}`,
    map(row) {
      const out: Record<string, unknown> = {};
      for (const c of columns) {
        const v = row[c.as];
        out[c.name] =
          c.date && v != null && !(v instanceof Date) ? platform.parseDate(v as string) : v;
      }
      return out;
    },
  };
}

interface Statement {
  profile: Part;
  policy: Part;
  ca: Part;
  /** SQL by variant: [by id | by slug] x [with | without the prior request]. */
  sql: Map<string, string>;
}

const statements = new WeakMap<MetadataStorage, Statement>();

function statementFor(em: EntityManager): Statement {
  const metadata = em.getMetadata();
  let s = statements.get(metadata);
  if (!s) {
    const platform = em.getPlatform();
    const meta = (e: { meta: { className: string } }) => metadata.get(e.meta.className);
    s = {
      profile: partOf(meta(CertificateProfileEntity), platform, "p"),
      policy: partOf(meta(CertificatePolicyEntity), platform, "y", [
        "id",
        "slug",
        "version",
        "spec",
      ]),
      ca: partOf(meta(CertificateAuthorityEntity), platform, "c"),
      sql: new Map(),
    };
    statements.set(metadata, s);
  }
  return s;
}

function sqlFor(s: Statement, byId: boolean, withPrior: boolean): string {
  const variant = `${byId}:${withPrior}`;
  let sql = s.sql.get(variant);
  if (!sql) {
    // One row always (the profile side is LEFT JOINed to a constant), so a missing profile
    // still returns the prior request; slug and id are unique, so never more than one.
    const prior = withPrior
      ? `(select r."id" from "certificate_request" r where r."caller" = ? and r."request_id" = ?) as "prior_id", `
      : "";
    sql = `select ${prior}${s.profile.select}, ${s.policy.select}, ${s.ca.select}
         from (select 1) as one
         left join "certificate_profile" p on p."${byId ? "id" : "slug"}" = ?
         left join "certificate_policy" y on y."id" = p."policy_id"
         left join "certificate_authority" c on c."id" = p."ca_id"`.replace(/\s+/g, " ");
    s.sql.set(variant, sql);
  }
  return sql;
}

/**
 * The profile (by id or slug), its policy and its CA, and when `prior` is given the id of the
 * request with that (caller, request_id): one statement, one round trip.
 */
export async function readIssuanceRows(
  em: EntityManager,
  profile: ProfileKey,
  prior?: { caller: string; requestId: string },
): Promise<IssuanceRows> {
  const s = statementFor(em);
  const byId = "id" in profile;
  const bindings: unknown[] = prior ? [prior.caller, prior.requestId] : [];
  bindings.push(byId ? profile.id : profile.slug);
  const [row] = await executePrepared<Array<Record<string, unknown>>>(
    em,
    sqlFor(s, byId, !!prior),
    bindings,
  );
  if (!row) throw new Error("the issuance read returned no row");
  const present = (part: Part) => row[part.key] != null;
  return {
    priorRequestId: (row.prior_id as string | null | undefined) ?? null,
    profile: present(s.profile) ? (s.profile.map(row) as CertificateProfileRow) : null,
    policy: present(s.policy) ? (s.policy.map(row) as PolicyForIssuance) : null,
    ca: present(s.ca) ? (s.ca.map(row) as CertificateAuthorityRow) : null,
  };
}
