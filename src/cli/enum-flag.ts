import { UsageError } from "./command";

/**
 * The command-line spelling of a generated proto enum: its value names without the enum's prefix,
 * in lower case with dashes (KEY_ALGORITHM_EC_P256 is "ec-p256"). Parsing also accepts the full
 * proto name, so values copied from grpcurl or JSON output work too. Derived from the generated
 * enum, so a value added to the proto appears here without a change.
 */
export class EnumFlag {
  private readonly byName = new Map<string, number>();
  private readonly byValue = new Map<number, string>();

  constructor(enumObject: Readonly<Record<string, string | number>>, prefix: string) {
    for (const [key, value] of Object.entries(enumObject)) {
      if (typeof value !== "number" || value < 0) continue; // reverse entries, UNRECOGNIZED
      const short = key.startsWith(prefix) ? key.slice(prefix.length) : key;
      const spelled = short.toLowerCase().replaceAll("_", "-");
      this.byValue.set(value, spelled);
      if (short === "UNSPECIFIED") continue;
      this.byName.set(spelled, value);
      this.byName.set(key.toLowerCase(), value);
    }
  }

  /** The accepted spellings, in proto order (UNSPECIFIED excluded). */
  get choices(): string[] {
    return [...this.byValue.entries()]
      .filter(([value]) => this.byName.has(this.byValue.get(value)!))
      .map(([, name]) => name);
  }

  parse(text: string, flag: string): number {
    const t = text.trim().toLowerCase();
    const value = this.byName.get(t) ?? this.byName.get(t.replaceAll("_", "-"));
    if (value === undefined) {
      throw new UsageError(
        `--${flag}: unknown value "${text}" (one of: ${this.choices.join(", ")})`,
      );
    }
    return value;
  }

  /** The spelling of a value, "unspecified" for 0 and the number for one this build does not know. */
  name(value: number): string {
    return this.byValue.get(value) ?? String(value);
  }
}
