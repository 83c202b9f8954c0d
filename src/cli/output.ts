/** Text renderings: aligned tables for lists, "field: value" blocks for one resource, JSON. */

/**
 * What a terminal must never receive raw: C0 and C1 controls and DEL (Cc: ESC starts CSI/OSC
 * sequences, which move the cursor, erase lines, set the window title or, with OSC 52, the
 * clipboard; CR and BS overwrite what was printed; U+009B is CSI itself on some terminals),
 * format characters (Cf: the bidi embeddings and overrides U+202A-U+202E and isolates
 * U+2066-U+2069 of Unicode UAX #9 reorder a line, so "gnp.exe" reads as "exe.png"; the zero-width
 * U+200B-U+200F and U+FEFF make two different strings look the same), the line and paragraph
 * separators U+2028/U+2029 (Zl, Zp), lone surrogates and noncharacters. Text certmint prints
 * comes from the server, and the server stores what any caller sent (a refused call's resource
 * in the audit trail, a failed request's subject, a token's description): until stop 46 of
 * 2026-12-06 it went to the admin's terminal raw (an outside probe).
 */
const TERMINAL_UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Noncharacter_Code_Point}]/gu;

/** Each UTF-16 unit of a character as \uXXXX: visible, and a valid JSON string escape too. */
const escapeUnits = (ch: string): string =>
  Array.from(
    { length: ch.length },
    (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`,
  ).join("");

/**
 * The one sanitizer of everything the CLI writes to stdout and stderr (main.ts): every character
 * of TERMINAL_UNSAFE but the line feed shown as \uXXXX (ESC as \u001b, U+202E as \u202e), as
 * JSON.stringify shows ESC. Line feeds are the output's own line structure; a value cannot bring
 * one in, since tables and fields pass each value through terminalValue first. The escapes are
 * JSON escapes, so --output json stays valid JSON that decodes to the server's exact text (JSON
 * has U+2028, the bidi and the zero-width characters raw otherwise).
 */
export function terminalText(text: string): string {
  return text.replace(TERMINAL_UNSAFE, (ch) => (ch === "\n" ? ch : escapeUnits(ch)));
}

/** One value on one line (a table cell, a field, a watch event's message): line feeds escaped too. */
export function terminalValue(value: string): string {
  return value.replace(TERMINAL_UNSAFE, escapeUnits);
}

export interface Column<T> {
  header: string;
  value(row: T): string;
}

/** Rows under upper-case headers, columns separated by two spaces; "(none)" when empty. */
export function renderTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  if (rows.length === 0) return "(none)\n";
  const cells = [
    columns.map((c) => c.header),
    ...rows.map((r) => columns.map((c) => terminalValue(c.value(r)))),
  ];
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
    const values = (typeof value === "string" ? [value] : (value as readonly string[])).map(
      terminalValue,
    );
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
