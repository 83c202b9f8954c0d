import type { EntityManager } from "@mikro-orm/postgresql";
import type { CertificateState, ReadBound } from "../issuance/repositories";
import { boundedRead } from "./bounded-read";
import { TableColumns } from "./columns";
import { CertificateEntity, type CertificateRow } from "./entities";

/**
 * One page of ListCertificates, newest first, in one statement whose shape keeps it flat from
 * an empty table to millions of certificates (issue 14; the indexes are described in
 * migrations/Migration20261202130000FlatReads.ts):
 *
 * - Keyset pagination: the page starts strictly after the cursor with the row comparison
 *   (created_at, id) < (cursor), which PostgreSQL uses as the start of the index range scan of
 *   every (…, created_at desc, id desc) index. The equivalent `a < x or (a = x and b < y)` is
 *   only a filter: each page re-read every row before it (quadratic walks).
 * - A status is decided as each row shows it (certificates/queries.ts certificateStatus): the
 *   CAs revoked or below a revoked CA are read first (tens of rows at most), then no join.
 *   ISSUER_REVOKED reads each such CA's rows from (ca_id, created_at desc, id desc), one limited
 *   branch per CA merged by the order (Merge Append; never all of a CA's certificates). ACTIVE
 *   and EXPIRED alone read so the CAs in good standing (and self-signed certificates), so that a
 *   revoked CA's rows, however many, are never read through; with a filter that has its own
 *   index (CA, profile, expiry bound, name) they leave the revoked CAs' ca_ids out as the rows
 *   are read, as not_after already is. While no CA is revoked the statement is as before.
 * - Late row lookup: the filters and the order are applied to (id, created_at) in a subquery,
 *   which the planner can answer from an index alone (the expiry bound from
 *   (not_after, created_at, id), REVOKED from its partial index); only the page's rows are read
 *   from the table.
 * - Sent unprepared: a prepared statement's generic plan cannot see how selective an expiry
 *   bound or a name is, and would pick one plan for every bound.
 * - Only the columns a list shows: never the sealed private key, and the PEMs (about 2 KB of a
 *   row, compressed out of line by PostgreSQL's TOAST) only when the page asks for them.
 */
export interface CertificatePageFilter {
  profileId?: string;
  caId?: string;
  status?: CertificateState;
  /** ACTIVE and EXPIRED are relative to this time. */
  now: Date;
  /**
   * The CAs revoked or below a revoked CA (CertificateRepository.revokedIssuers): what they
   * signed is ISSUER_REVOKED unless revoked itself, never ACTIVE or EXPIRED.
   */
  issuerRevokedCaIds?: readonly string[];
  /**
   * For each of issuerRevokedCaIds, the revoked CA whose revocation it stands under (itself, or
   * the nearest revoked CA above it); a CA not here stands under its own. A certificate of such
   * a CA revoked for keyCompromise (at any time), or for another reason but certificateHold no
   * later than that revocation, stays REVOKED (what OCSP answers, ca/ocsp.ts
   * ownRevocationStands); one on hold, or revoked after it for a weaker reason, is
   * ISSUER_REVOKED.
   */
  revokedCaIdOf?: ReadonlyMap<string, string>;
  /**
   * Every other CA (in good standing), given with issuerRevokedCaIds for ACTIVE and EXPIRED:
   * without a filter that picks an index of its own (CA, profile, expiry bound, name), those
   * are read CA by CA, so that the rows of a revoked CA are never read through.
   */
  standingCaIds?: readonly string[];
  expiresBefore?: Date;
  /** A LIKE pattern over search_names, its metacharacters already escaped with backslashes. */
  namePattern?: string;
  /**
   * The last row of the previous page: this page holds only rows strictly after it.
   * `createdAtText` (microseconds) is used when given, else `createdAt`.
   */
  after?: { createdAt: Date; createdAtText?: string; id: string };
  limit: number;
  /** Read certificate_pem and chain_pem too (the FULL view). */
  withPem: boolean;
}

/** Never read by a list: a list never returns a key (certificates/ownership.ts says who may). */
const NEVER_LISTED = new Set(["sealedPrivateKey"]);
/** Read only for the FULL view. */
const PEM_PROPS = new Set(["certificatePem", "chainPem"]);

const CURSOR_COLUMN = "page_cursor_created_at";
const CREATED_AT_TEXT = `to_char(k."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The select list of a page's rows (alias c): what a list shows, the PEMs only if asked. */
export function listedColumns(columns: TableColumns, withPem: boolean): string {
  return columns.props
    .filter((p) => !NEVER_LISTED.has(p) && (withPem || !PEM_PROPS.has(p)))
    .map((p) => `c.${columns.column(p)}`)
    .join(", ");
}

/** The page's SQL (with `?` placeholders, as the ORM's execute takes them) and its bindings. */
export function certificatePageQuery(
  f: CertificatePageFilter,
  select: string,
): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, ...values: unknown[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (f.profileId) add(`"profile_id" = ?`, f.profileId);
  if (f.caId) add(`"ca_id" = ?`, f.caId);
  // The revoked issuers that can matter: with a CA filter, that CA alone if it is one.
  const revokedIds = (f.issuerRevokedCaIds ?? []).filter((id) => !f.caId || id === f.caId);
  /** ca_id outside the revoked issuers (a self-signed certificate, null, is outside). */
  const notUnderRevoked = () => {
    if (revokedIds.length === 0) return;
    if (f.caId) add("false");
    else
      add(
        `("ca_id" is null or "ca_id" not in (${revokedIds.map(() => "?").join(", ")}))`,
        ...revokedIds,
      );
  };
  /**
   * A certificate of revoked issuer `id` whose own revocation OCSP answers instead of the CA's
   * (ca/ocsp.ts ownRevocationStands, the same rule): revoked for keyCompromise, at any time
   * (RFC 5280 5.3.1: the subscriber's key, what the CA's CRL lists), or for good (not
   * certificateHold) no later than the CA (the CA's time read from its row, exact to the
   * microsecond, once per statement). Never null: `is not distinct from` where a null reason
   * would make the whole condition null, and so its negation, which is what shows
   * ISSUER_REVOKED (certificates/queries.ts shownStatus), would drop the row from both filters.
   * A condition on the rows each branch reads, so the plans stay as they were (one index range
   * per CA). Until stop 47 of 2026-12-06 any revoked row counted as REVOKED, a hold under a
   * revoked CA included; and, within stop 47, a keyCompromise after the CA's counted as
   * ISSUER_REVOKED while the CA's CRL listed it as keyCompromise (an outside probe, S F3;
   * test/certificates/stop47-own-key-compromise.test.ts).
   */
  const ownStands = (id: string): [string, unknown[]] => [
    `("revoked_at" is not null and ("revocation_reason" is not distinct from 'KEY_COMPROMISE' or ("revocation_reason" is distinct from 'CERTIFICATE_HOLD' and "revoked_at" <= (select "revoked_at" from "certificate_authority" where "id" = ?))))`,
    [f.revokedCaIdOf?.get(id) ?? id],
  ];
  const issuerShown = (id: string): { sql: string; params: unknown[] } => {
    const [stands, standsParams] = ownStands(id);
    return { sql: `"ca_id" = ? and not ${stands}`, params: [id, ...standsParams] };
  };
  if (f.status === "REVOKED") {
    add(`"revoked_at" is not null`);
    // Under a revoked issuer, only those whose own revocation stands.
    for (const id of revokedIds) {
      const [stands, standsParams] = ownStands(id);
      add(`("ca_id" is distinct from ? or ${stands})`, id, ...standsParams);
    }
  }
  // ACTIVE or EXPIRED with revoked CAs and no filter that picks an index: read by CA in good
  // standing (below), else the revoked CAs' ca_ids left out as the rows are read.
  const byStandingCa =
    (f.status === "ACTIVE" || f.status === "EXPIRED") &&
    revokedIds.length > 0 &&
    f.standingCaIds !== undefined &&
    !f.caId &&
    !f.profileId &&
    !f.expiresBefore &&
    f.namePattern === undefined;
  if (f.status === "ACTIVE") {
    add(`"revoked_at" is null and "not_after" > ?`, f.now);
    if (!byStandingCa) notUnderRevoked();
  }
  if (f.status === "EXPIRED") {
    add(`"revoked_at" is null and "not_after" <= ?`, f.now);
    if (!byStandingCa) notUnderRevoked();
  }
  if (f.status === "ISSUER_REVOKED") {
    // No revoked issuer: nothing is ISSUER_REVOKED. One: its ca_id (the CA filter's, if any),
    // its rows not revoked on their own, on hold, or revoked after it.
    if (revokedIds.length === 0) add("false");
    else if (revokedIds.length === 1) {
      const one = issuerShown(revokedIds[0]!);
      add(one.sql, ...one.params);
    }
  }
  if (f.expiresBefore) add(`"not_after" < ?`, f.expiresBefore);
  // The key's condition is the one the trigram index serves; the plain one keeps the result
  // exact (Migration20261205200000NameSearchWords).
  if (f.namePattern !== undefined) {
    add(
      `"certmint_search_key"("search_names") like "certmint_search_key"(?) and "search_names" like ?`,
      f.namePattern,
      f.namePattern,
    );
  }
  if (f.after) {
    const at = f.after.createdAtText ?? f.after.createdAt;
    add(`("created_at", "id") < (?::timestamptz, ?::uuid)`, at, f.after.id);
  }
  const keys = (extra = "") =>
    `select "id", "created_at" from "certificate"${
      where.length || extra ? ` where ${[...where, ...(extra ? [extra] : [])].join(" and ")}` : ""
    } order by "created_at" desc, "id" desc limit ?`;
  let keySql: string;
  let keyParams: unknown[];
  // One branch per CA, each an index range scan of (ca_id, created_at desc, id desc), merged by
  // the order (Merge Append): `"ca_id" in (...)` would read every certificate of those CAs and
  // sort them, and a scan of the newest-first index would read through a revoked CA's rows.
  const branches: Array<{ sql: string; params: unknown[] }> | undefined =
    f.status === "ISSUER_REVOKED" && revokedIds.length > 1
      ? revokedIds.map(issuerShown)
      : byStandingCa
        ? [
            ...(f.standingCaIds ?? []).map((id) => ({ sql: `"ca_id" = ?`, params: [id] })),
            // Self-signed certificates: no CA.
            { sql: `"ca_id" is null`, params: [] },
          ]
        : undefined;
  if (branches) {
    keySql = `${branches.map((b) => `(${keys(b.sql)})`).join(" union all ")} order by "created_at" desc, "id" desc limit ?`;
    keyParams = [...branches.flatMap((b) => [...params, ...b.params, f.limit]), f.limit];
  } else {
    keySql = keys();
    keyParams = [...params, f.limit];
  }
  // The row's created_at to the microsecond, for the next page's cursor.
  const sql = `select ${select}, ${CREATED_AT_TEXT} as "${CURSOR_COLUMN}" from (${keySql}) k join "certificate" c on c."id" = k."id" order by k."created_at" desc, k."id" desc`;
  return { sql, params: keyParams };
}

/** A certificate of the page (mapped as the ORM maps it) and its created_at to the microsecond. */
export interface PageRow {
  certificate: CertificateRow;
  createdAtText: string;
}

/** The page, its statement within `bound` when given (bounded-read.ts; ReadStopped past it). */
export async function readCertificatePage(
  em: EntityManager,
  f: CertificatePageFilter,
  bound?: ReadBound,
): Promise<PageRow[]> {
  const columns = certificateColumns(em);
  const { sql, params } = certificatePageQuery(f, listedColumns(columns, f.withPem));
  const rows = await boundedRead<Record<string, unknown>>(em, sql, params, bound);
  return rows.map((row) => ({
    // The columns not read stay undefined (fromColumns reads only those present).
    certificate: columns.fromColumns(row) as CertificateRow,
    createdAtText: row[CURSOR_COLUMN] as string,
  }));
}

/** The certificate table's columns, made once per metadata (every fork shares it). */
const columnsByMetadata = new WeakMap<object, TableColumns>();

export function certificateColumns(em: EntityManager): TableColumns {
  const metadata = em.getMetadata();
  let columns = columnsByMetadata.get(metadata);
  if (!columns) {
    columns = new TableColumns(metadata.get(CertificateEntity.meta.className), em.getPlatform());
    columnsByMetadata.set(metadata, columns);
  }
  return columns;
}
