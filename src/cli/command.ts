/**
 * The shape of the command tree: groups (nouns: `ca`, `cert`, ...) of commands (verbs), each
 * declaring its options and positionals so that parsing, `--help` and validation come from one
 * description.
 */
import type { Invocation } from "./invocation";

export interface OptionSpec {
  type: "string" | "boolean";
  description: string;
  /** The placeholder of a string option's value in help, e.g. FILE. */
  value?: string;
  /** May be given several times; the values are collected in order. */
  multiple?: boolean;
  short?: string;
  /** A boolean that `--no-NAME` sets to false explicitly (updates must be able to say "off"). */
  negatable?: boolean;
  /** The only values accepted, checked at parse time and listed in help. */
  choices?: readonly string[];
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Options shown together under a title in help. */
export interface OptionSection {
  title: string;
  specs: OptionSpecs;
}

export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
}

export type OutputFormat = "table" | "json" | "pem";

export interface CommandSpec {
  name: string;
  summary: string;
  /** Paragraphs shown after the usage line. */
  description?: string;
  positionals?: readonly PositionalSpec[];
  options: readonly OptionSection[];
  /** The --output formats it supports; the first is the default. */
  outputs?: readonly OutputFormat[];
  examples?: readonly string[];
  run(inv: Invocation): Promise<void>;
}

export interface GroupSpec {
  name: string;
  summary: string;
  description?: string;
  commands: readonly CommandSpec[];
}

/** A mistake on the command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A failure that is not the server's answer (a file that cannot be read, say): exit code 1. */
export class CliError extends Error {
  override name = "CliError";
}
