/** Text renderings: aligned tables for lists, "field: value" blocks for one resource, JSON. */

export interface Column<T> {
  header: string;
  value(row: T): string;
}

/** Rows under upper-case headers, columns separated by two spaces; "(none)" when empty. */
export function renderTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  if (rows.length === 0) return "(none)\n";
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => c.value(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}

/** A field of a detail view: a label and a value, or several values on lines of their own. */
export type Field = readonly [label: string, value: string | readonly string[] | undefined];

/** "label: value" lines, labels aligned; empty values left out. */
export function renderFields(fields: readonly Field[]): string {
  const shown = fields.filter(([, v]) => (Array.isArray(v) ? v.length > 0 : Boolean(v)));
  const width = Math.max(0, ...shown.map(([label]) => label.length)) + 2;
  const lines: string[] = [];
  for (const [label, value] of shown) {
    const values = typeof value === "string" ? [value] : (value as readonly string[]);
    values.forEach((v, i) => {
      lines.push(`${(i === 0 ? `${label}:` : "").padEnd(width)}${v}`);
    });
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The JSON of a generated message's toJSON(): camelCase names, enums by name, RFC 3339 times.
 * ts-proto writes a google.protobuf.Duration as {"seconds": "N"}; this writes the canonical
 * proto3 JSON form "Ns" instead (no other certmint message has only those fields).
 */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(canonicalDurations(value), null, 2)}\n`;
}

function canonicalDurations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalDurations);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const keys = entries.map(([k]) => k);
  if (keys.includes("seconds") && keys.every((k) => k === "seconds" || k === "nanos")) {
    const { seconds, nanos } = value as { seconds: string; nanos?: number };
    return nanos
      ? `${seconds}.${String(nanos).padStart(9, "0").replace(/0+$/, "")}s`
      : `${seconds}s`;
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, canonicalDurations(v)]));
}
