/** Printing one resource or a page of them in the invocation's output format. */
import { CliError } from "../command";
import type { Invocation } from "../invocation";
import { type Column, type Field, renderFields, renderJson, renderTable } from "../output";

export interface JsonCodec<T> {
  toJSON(message: T): unknown;
}

export interface OneView<T> {
  codec: JsonCodec<T>;
  fields(value: T): Field[];
  /** The PEM form, for commands that offer --output pem. */
  pem?(value: T): string;
}

export function printOne<T>(inv: Invocation, value: T, view: OneView<T>): void {
  switch (inv.output) {
    case "json":
      inv.print(renderJson(view.codec.toJSON(value)));
      return;
    case "pem": {
      const pem = view.pem?.(value);
      if (!pem) throw new CliError("there is no PEM to print (try --output table)");
      inv.print(pem.endsWith("\n") ? pem : `${pem}\n`);
      return;
    }
    default:
      inv.print(renderFields(view.fields(value)));
  }
}

/** A page as a table, or as the List response's JSON (items and next page token). */
export function printPage<T, R>(
  inv: Invocation,
  rows: readonly T[],
  columns: ReadonlyArray<Column<T>>,
  response: R,
  codec: JsonCodec<R>,
): void {
  if (inv.output !== "json") {
    inv.print(renderTable(rows, columns));
    return;
  }
  // toJSON leaves an empty list out; a script reading `.certificates[]` wants it there.
  const out = codec.toJSON(response) as Record<string, unknown>;
  for (const [key, value] of Object.entries(response as object)) {
    if (Array.isArray(value) && !(key in out)) out[key] = [];
  }
  inv.print(renderJson(out));
}

/** The PEM blocks joined, each ending in a newline. */
export function joinPem(blocks: readonly string[]): string {
  return blocks.map((b) => (b.endsWith("\n") ? b : `${b}\n`)).join("");
}
