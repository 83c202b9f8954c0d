/**
 * The table of request limits (src/api/request-limits.ts) against the contract itself, read
 * from the buf image: every string and repeated field that any RPC's request can carry has a
 * limit, the table names no field that does not exist, and each field's proto comment (the text
 * every generated client carries) states exactly that limit.
 */
import { describe, expect, it } from "vitest";
import { requestChecksOf } from "../../src/api/request-check";
import {
  DEFAULT_FIELD_LIMIT,
  fieldLimit,
  limitSentence,
  REQUEST_FIELD_LIMITS,
} from "../../src/api/request-limits";
import {
  allMethods,
  CERTMINT_SERVICES,
  commentOf,
  contract,
  requestLeaves,
} from "../support/contract";

const leaves = allMethods().flatMap((m) => requestLeaves(m.input));
const keys = new Set(leaves.map((l) => l.key));
const normalise = (text: string) => text.replace(/\s+/g, " ").trim();

describe("the table of request limits", () => {
  // A field without its line is held to DEFAULT_FIELD_LIMIT by the server; this test is what
  // makes its author give it its own limit and document it.
  it("covers every string and repeated field of every request, and names nothing else", () => {
    expect(keys.size).toBeGreaterThan(90); // the walk found the contract, not an empty image
    expect([...keys].filter((k) => !REQUEST_FIELD_LIMITS[k]).sort()).toEqual([]);
    expect(Object.keys(REQUEST_FIELD_LIMITS).filter((k) => !keys.has(k))).toEqual([]);
  });

  it("gives repeated fields a count and strings a length", () => {
    for (const leaf of leaves) {
      const limit = REQUEST_FIELD_LIMITS[leaf.key]!;
      if (leaf.kind !== "string") expect(limit.maxItems, leaf.key).toBeGreaterThan(0);
      if (leaf.kind !== "enums") expect(limit.maxChars, leaf.key).toBeGreaterThan(0);
    }
  });

  it("is compiled by the server for every RPC of every service", () => {
    for (const service of CERTMINT_SERVICES) {
      const methods = contract.getService(service)!.methods.map((m) => m.name);
      expect([...requestChecksOf(service).keys()].sort()).toEqual([...methods].sort());
    }
  });

  it("is documented on each field, one line each: the proto comment says the same limit", () => {
    const wrong: string[] = [];
    for (const [key, limit] of Object.entries(REQUEST_FIELD_LIMITS)) {
      const sentence = limitSentence(limit);
      // FieldMask.paths is google's: the limit is written on every update_mask field.
      const fields =
        key === "google.protobuf.FieldMask.paths"
          ? leaves.filter((l) => l.key === key).map((l) => l.path.at(-2)!)
          : [leaves.find((l) => l.key === key)!.field];
      for (const field of fields) {
        const lines = commentOf(field).split("\n").map(normalise);
        if (!lines.includes(sentence))
          wrong.push(`${field.parent.typeName}.${field.name}: "${sentence}"`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("holds a field it does not name yet to the default, never to nothing", () => {
    expect(fieldLimit("certmint.v1.NotYet.field")).toEqual(DEFAULT_FIELD_LIMIT);
    expect(DEFAULT_FIELD_LIMIT).toEqual({ maxItems: 100, maxChars: 1024 });
    expect(fieldLimit("certmint.v1.Subject.common_name")).toEqual({ maxChars: 64 });
  });

  it("writes the sentence in plain words", () => {
    expect(limitSentence({ maxChars: 64 })).toBe("At most 64 characters.");
    expect(limitSentence({ maxItems: 9 })).toBe("At most 9 values.");
    expect(limitSentence({ maxItems: 10, maxChars: 64 })).toBe(
      "At most 10 values of at most 64 characters each.",
    );
    expect(limitSentence({ maxItems: 32, maxChars: 64, items: "paths" })).toBe(
      "At most 32 paths of at most 64 characters each.",
    );
  });
});
