import type { EntityMetadata, Platform } from "@mikro-orm/core";

/** One property of an entity and how its column is written and read. */
interface Column {
  readonly prop: string;
  /** The column name, quoted. */
  readonly sql: string;
  readonly name: string;
  /** jsonb: written as JSON text with a cast, read parsed (pg parses jsonb). */
  readonly json: boolean;
  /** bytea: written as a Buffer. */
  readonly bytes: boolean;
  /** timestamptz: read as text (MikroORM's pg type parsers) and parsed as its mapper does. */
  readonly date: boolean;
}

/**
 * An entity's table as the hand-written statements of the hot path see it (issuance.ts): every
 * table and column name comes from the ORM's metadata (src/store/entities), never from a
 * guess, so a renamed property or column follows the entity.
 */
export class TableColumns {
  /** The table name, quoted. */
  readonly table: string;
  private readonly columns: readonly Column[];
  private readonly byProp: ReadonlyMap<string, Column>;

  constructor(
    meta: EntityMetadata,
    private readonly platform: Platform,
  ) {
    this.table = `"${meta.tableName}"`;
    this.columns = meta.props
      .filter((p) => p.fieldNames?.length === 1)
      .map((p) => ({
        prop: p.name,
        name: p.fieldNames[0]!,
        sql: `"${p.fieldNames[0]}"`,
        json: p.columnTypes?.[0] === "jsonb",
        bytes: p.runtimeType === "Buffer",
        date: p.runtimeType === "Date",
      }));
    this.byProp = new Map(this.columns.map((c) => [c.prop, c]));
  }

  /** Every property that has a column of its own, in the table's column order. */
  get props(): string[] {
    return this.columns.map((c) => c.prop);
  }

  /** The quoted column of a property, for the statement's text. */
  column(prop: string): string {
    const c = this.byProp.get(prop);
    if (!c) throw new Error(`${this.table} has no column for property ${prop}`);
    return c.sql;
  }

  /** A value as the column takes it: JSON text for jsonb (cast with ?::jsonb), a Buffer for bytes. */
  bind(prop: string, value: unknown): unknown {
    const c = this.byProp.get(prop)!;
    if (value === undefined || value === null) return null;
    if (c.json) return JSON.stringify(value);
    if (c.bytes) return Buffer.from(value as Uint8Array);
    return value;
  }

  /** The placeholder of a property's value. */
  placeholder(prop: string): string {
    return this.byProp.get(prop)?.json ? "?::jsonb" : "?";
  }

  /** Every column, its placeholders, and the bindings of `record` (all its properties). */
  insert(record: object): { columns: string; placeholders: string; bindings: unknown[] } {
    const values = record as Record<string, unknown>;
    return {
      columns: this.columnList,
      placeholders: this.placeholderList,
      bindings: this.columns.map((c) => this.bind(c.prop, values[c.prop])),
    };
  }

  /** Every column, quoted, in the order of `insert` and `jsonRow`. */
  get columnList(): string {
    this.columnListText ??= this.columns.map((c) => c.sql).join(", ");
    return this.columnListText;
  }

  /** The placeholders of every column, in the order of `columnList`. */
  private get placeholderList(): string {
    this.placeholderListText ??= this.columns.map((c) => this.placeholder(c.prop)).join(", ");
    return this.placeholderListText;
  }

  // Built once: the hot path's statements are texts made per call from these (issuance.ts).
  private columnListText?: string;
  private placeholderListText?: string;

  /**
   * Every column of a composite value of the table's row type: `(<value>)."col", ...`; a
   * property in `instead` is read from that SQL expression.
   */
  fieldsOf(value: string, instead: Readonly<Record<string, string>> = {}): string {
    return this.columns.map((c) => instead[c.prop] ?? `(${value}).${c.sql}`).join(", ");
  }

  /**
   * `record` as a JSON object of its row (column names as keys), read back with
   * jsonb_populate_record(null::<table>, ...): jsonb values nested as they are, bytea as
   * PostgreSQL's hex text, timestamps as ISO 8601 (what Date's toJSON writes), a missing value
   * left out (the null record's field: null), and `except` left out too (the caller sends it
   * another way). Dates go in as their text already: JSON.stringify calls toJSON on every
   * Date object, which took it off its fast path (6 Date objects per stored issuance: 13.9 us
   * per batch item against 7.0 with the same text, bench on the batch's rows).
   */
  jsonRow(record: object, except?: string): Record<string, unknown> {
    const values = record as Record<string, unknown>;
    const row: Record<string, unknown> = {};
    for (const c of this.columns) {
      const v = values[c.prop];
      if (v === undefined || v === null || c.prop === except) continue;
      if (c.bytes) row[c.name] = `\\x${Buffer.from(v as Uint8Array).toString("hex")}`;
      else if (v instanceof Date) {
        // toJSON's null for an invalid date: the field left out is null as well.
        if (!Number.isNaN(v.getTime())) row[c.name] = v.toISOString();
      } else row[c.name] = v;
    }
    return row;
  }

  /**
   * A record of a row selected with the table's own column names (`select t.*`): properties
   * as the ORM names them, values of the types it gives, as select().read does. For rows
   * read in bulk (a page of certificates): em.map merged each into the identity map first,
   * about 50 us per certificate row (bench: a 50-row page cost 2.5 ms of it).
   */
  fromColumns(row: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const c of this.columns) {
      // A column the statement did not select stays out of the record (a list's BASIC view).
      if (!(c.name in row)) continue;
      const v = row[c.name];
      out[c.prop] =
        c.date && v != null && !(v instanceof Date) ? this.platform.parseDate(v as string) : v;
    }
    return out;
  }

  /**
   * The select list of the given properties (all by default), each aliased `<alias>.<column>`,
   * and how a result row maps back to a record: properties as the ORM names them, values of
   * the types it gives (jsonb parsed, bytea as Buffer, bigint as string, timestamptz as Date).
   */
  select(alias: string, only?: readonly string[]) {
    const columns = this.columns.filter((c) => !only || only.includes(c.prop));
    const as = (c: Column) => `${alias}.${c.name}`;
    const primary = this.columns[0]!;
    return {
      sql: columns.map((c) => `${alias}.${c.sql} as "${as(c)}"`).join(", "),
      /** Null exactly when the joined row is missing: the primary key (the first property). */
      present: (row: Record<string, unknown>) => row[as(primary)] != null,
      read: (row: Record<string, unknown>): Record<string, unknown> => {
        const out: Record<string, unknown> = {};
        for (const c of columns) {
          const v = row[as(c)];
          out[c.prop] =
            c.date && v != null && !(v instanceof Date) ? this.platform.parseDate(v as string) : v;
        }
        return out;
      },
    };
  }

  /**
   * A row's tag, as SQL over `alias`: its xmin and version. xmin changes with every update of
   * the row, whoever makes it (plain SQL included), so an equal id and tag is the same row.
   */
  tag(alias: string): string {
    return `(${alias}.xmin::text || ':' || ${alias}.${this.column("version")}::text)`;
  }

  /** SQL true while the row of id `?` still has tag `?` (bindings: id, tag). */
  unchanged(alias: string): string {
    return `exists (select 1 from ${this.table} ${alias} where ${alias}.${this.columns[0]!.sql} = ? and ${this.tag(alias)} = ?)`;
  }

  /**
   * select() of a row the caller may hold already: its id and tag always, its other columns
   * from a second alias (`<alias>f`, joined by joinFull) only when the row is not the one the
   * caller holds. The tag is the row's xmin and version: xmin changes with every update of the
   * row, whoever makes it, so an equal id and tag is the same row as read before.
   */
  selectUnlessKnown(alias: string, only?: readonly string[]) {
    const full = this.select(`${alias}f`, only);
    const id = `${alias}.${this.columns[0]!.sql}`;
    const tag = this.tag(alias);
    return {
      ...full,
      sql: `${id} as "${alias}.$id", ${tag} as "${alias}.$tag", ${full.sql}`,
      /** The row's id; null when the joined row is missing. */
      id: (row: Record<string, unknown>) => (row[`${alias}.$id`] as string | null) ?? null,
      tag: (row: Record<string, unknown>) => row[`${alias}.$tag`] as string,
      /** The join of the other columns, unless the row is the one known (SQL expressions). */
      joinFull: (knownId: string, knownTag: string) =>
        `left join ${this.table} ${alias}f on ${alias}f.${this.columns[0]!.sql} = ${id} and ((${id} = ${knownId} and ${tag} = ${knownTag}) is not true)`,
    };
  }
}
