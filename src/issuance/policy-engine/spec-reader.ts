/**
 * Reads an untrusted JSON policy spec (from jsonb or a proto mapping) field by field, collecting
 * every problem as a FieldViolation whose field is the spec path ("sans.dns.allowed[2]").
 */

import type { FieldViolation } from "../../errors";
import { fieldViolation } from "../../errors";
import type { PolicySpecReason } from "./types";

/** Longest list a rule may hold; bounds the work evaluate does per requested name. */
export const MAX_LIST = 1000;

export const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export class SpecReader {
  readonly violations: FieldViolation[] = [];

  add(field: string, reason: PolicySpecReason, description: string): void {
    this.violations.push(fieldViolation(field, reason, description));
  }

  /**
   * An object with only the known keys; reports missing required and unknown keys. The root
   * (path "") is reported as field "policy".
   */
  object(
    value: unknown,
    path: string,
    required: readonly string[],
    optional: readonly string[] = [],
  ): Record<string, unknown> | undefined {
    if (!isRecord(value)) {
      // A missing nested object is reported once, by its parent's required-key check.
      if (value === undefined && path !== "") return undefined;
      this.add(path || "policy", "POLICY_FIELD_INVALID", "must be an object");
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!required.includes(key) && !optional.includes(key)) {
        this.add(
          join(path, key),
          "POLICY_FIELD_UNKNOWN",
          `is not a known field of ${path || "a policy"}`,
        );
      }
    }
    for (const key of required) {
      if (value[key] === undefined)
        this.add(join(path, key), "POLICY_FIELD_MISSING", "is required");
    }
    return value;
  }

  /** An array of at most MAX_LIST items; undefined (already reported) otherwise. */
  array(value: unknown, path: string): unknown[] | undefined {
    if (value === undefined) return undefined; // reported as missing by object()
    if (!Array.isArray(value)) {
      this.add(path, "POLICY_FIELD_INVALID", "must be a list");
      return undefined;
    }
    if (value.length > MAX_LIST) {
      this.add(path, "POLICY_FIELD_INVALID", `may hold at most ${MAX_LIST} entries`);
      return undefined;
    }
    return value;
  }

  /** The members of a list of enum values; unknown entries reported. */
  enums<T extends string>(value: unknown, path: string, members: readonly T[]): T[] {
    const out: T[] = [];
    (this.array(value, path) ?? []).forEach((v, i) => {
      if (typeof v === "string" && (members as readonly string[]).includes(v)) out.push(v as T);
      else
        this.add(`${path}[${i}]`, "POLICY_FIELD_INVALID", `must be one of ${members.join(", ")}`);
    });
    return out;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") this.add(path, "POLICY_FIELD_INVALID", "must be true or false");
    return value === true;
  }

  /** An integer in [min, max], or undefined when absent or invalid (invalid is reported). */
  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.add(path, "POLICY_FIELD_INVALID", `must be an integer from ${min} to ${max}`);
      return undefined;
    }
    return value;
  }
}
