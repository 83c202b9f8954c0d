import { type OptionSpec, UsageError } from "./command";

type Value = string | boolean | Array<string | boolean> | undefined;

/**
 * The parsed options and positionals of one command, read by name. Reading an option the
 * command did not declare is a programming error and throws at once (every command has a test).
 */
export class Args {
  constructor(
    private readonly values: Readonly<Record<string, Value>>,
    readonly positionals: readonly string[],
    private readonly specs: Readonly<Record<string, OptionSpec>>,
    private readonly commandName: string,
  ) {}

  private declared(name: string): OptionSpec {
    const spec = this.specs[name];
    if (!spec) throw new Error(`internal: "${this.commandName}" reads undeclared option --${name}`);
    return spec;
  }

  /** The value of a string option, the last one when given several times. */
  string(name: string): string | undefined {
    this.declared(name);
    const v = this.values[name];
    if (Array.isArray(v)) return v.at(-1) as string | undefined;
    return typeof v === "string" ? v : undefined;
  }

  /** Every value of a repeatable string option, in order. */
  strings(name: string): string[] {
    this.declared(name);
    const v = this.values[name];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }

  /** true (--NAME), false (--no-NAME) or undefined (neither). */
  flag(name: string): boolean | undefined {
    const spec = this.declared(name);
    const on = this.values[name] === true;
    const off = spec.negatable === true && this.values[`no-${name}`] === true;
    if (on && off) throw new UsageError(`--${name} and --no-${name} contradict each other`);
    if (on) return true;
    return off ? false : undefined;
  }

  /** Whether the option was given at all (a negated boolean counts). */
  given(name: string): boolean {
    const spec = this.declared(name);
    if (spec.type === "boolean") return this.flag(name) !== undefined;
    return this.values[name] !== undefined;
  }

  /** A string option that must be given. */
  required(name: string): string {
    const v = this.string(name);
    if (v === undefined) throw new UsageError(`--${name} is required`);
    return v;
  }

  /** The positional at `index` (after the group and command), which must be present. */
  positional(index: number, what: string): string {
    const v = this.positionals[index];
    if (v === undefined) throw new UsageError(`missing ${what}`);
    return v;
  }
}
