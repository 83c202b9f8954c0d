/**
 * From argv to a command and its arguments, with node's util.parseArgs: route by the first two
 * positionals (`certmint ca list`), then parse strictly with the command's options, the output
 * option and the connection options (accepted before or after the command).
 */

import { parseArgs } from "node:util";
import { Args } from "./args";
import {
  type CommandSpec,
  type GroupSpec,
  type OptionSection,
  type OptionSpec,
  type OutputFormat,
  UsageError,
} from "./command";
import { DEFAULT_OUTPUTS, GLOBAL_SECTIONS, outputSection } from "./global-options";
import { commandHelp, groupHelp, PROGRAM, rootHelp } from "./help";
import { cliVersion } from "./version";

export type ParseResult =
  | { kind: "help"; text: string }
  | { kind: "run"; group: GroupSpec; command: CommandSpec; args: Args; output: OutputFormat };

/** A usage error that also shows the help of where the user was (no command, no subcommand). */
export class UsageWithHelp extends UsageError {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
  }
}

type ParseArgsOptions = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

function specsOf(sections: readonly OptionSection[]): Record<string, OptionSpec> {
  const specs: Record<string, OptionSpec> = {};
  for (const section of sections) {
    for (const [name, spec] of Object.entries(section.specs)) {
      if (specs[name]) throw new Error(`internal: option --${name} is declared twice`);
      specs[name] = spec;
    }
  }
  return specs;
}

function parseArgsOptions(specs: Record<string, OptionSpec>): ParseArgsOptions {
  const options: ParseArgsOptions = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    };
    if (spec.negatable) options[`no-${name}`] = { type: "boolean" };
  }
  return options;
}

function find<T extends { name: string }>(
  items: readonly T[],
  name: string | undefined,
): T | undefined {
  return items.find((i) => i.name === name);
}

export function parseCommandLine(
  argv: readonly string[],
  groups: readonly GroupSpec[],
): ParseResult {
  // Lenient first pass: which group and command, and whether help was asked for. Unknown options
  // read as booleans here, so a command's own options after the command name never shift them.
  const globalSpecs = specsOf(GLOBAL_SECTIONS);
  const lenient = parseArgs({
    args: [...argv],
    // --output/-o too, which every command has: its value before the command ("-o json ca
    // list") is not the command (until stop 49 of 2026-12-06: unknown command "json").
    options: parseArgsOptions({ ...globalSpecs, ...specsOf([outputSection(DEFAULT_OUTPUTS)]) }),
    strict: false,
    allowPositionals: true,
  });
  let [groupName, commandName] = lenient.positionals;
  const helpAsked = lenient.values.help === true;
  // `certmint --version`, alone (until stop 41 of 2026-12-06 a usage error). With a command it
  // is refused, never ignored: `cert revoke X --version` must not revoke.
  if (lenient.values.version === true) {
    if (groupName !== undefined || helpAsked) {
      throw new UsageError(
        `--version takes no command or other option: run '${PROGRAM} --version'`,
      );
    }
    return { kind: "help", text: `${PROGRAM} ${cliVersion()}\n` };
  }
  if (groupName === "help") {
    [groupName, commandName] = lenient.positionals.slice(1);
    if (groupName === undefined) return { kind: "help", text: rootHelp(groups) };
  }
  if (groupName === undefined) {
    if (helpAsked) return { kind: "help", text: rootHelp(groups) };
    throw new UsageWithHelp("missing command", rootHelp(groups));
  }
  const group = find(groups, groupName);
  if (!group) {
    throw new UsageError(`unknown command ${shownWord(groupName)}; run '${PROGRAM} --help'`);
  }
  const wantsHelp = helpAsked || lenient.positionals[0] === "help";
  if (commandName === undefined) {
    if (wantsHelp) return { kind: "help", text: groupHelp(group) };
    throw new UsageWithHelp(`missing subcommand of "${group.name}"`, groupHelp(group));
  }
  const command = find(group.commands, commandName);
  if (!command) {
    throw new UsageError(
      `unknown subcommand ${looksLikeToken(commandName) ? `of "${group.name}" ${NOT_SHOWN}` : `"${group.name} ${commandName}"`}; run '${PROGRAM} ${group.name} --help'`,
    );
  }
  if (wantsHelp) return { kind: "help", text: commandHelp(group, command) };
  return parseCommand(argv, group, command, globalSpecs);
}

function parseCommand(
  argv: readonly string[],
  group: GroupSpec,
  command: CommandSpec,
  globalSpecs: Record<string, OptionSpec>,
): ParseResult {
  const outputs = command.outputs ?? DEFAULT_OUTPUTS;
  const specs = { ...specsOf([...command.options, outputSection(outputs)]) };
  for (const name of Object.keys(globalSpecs)) {
    if (specs[name])
      throw new Error(`internal: --${name} of "${command.name}" shadows a global option`);
  }
  Object.assign(specs, globalSpecs);
  const where = `${group.name} ${command.name}`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: parseArgsOptions(specs),
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    // parseArgs names the option in its message ("Unknown option '--x'", "Option '--y <value>'
    // argument missing"); its advice about "--" does not apply here.
    // One line: some of its messages continue on a second ("--limit -1").
    const message = (err as Error).message
      .split("\n")[0]!
      .split(". To specify")[0]!
      .replace(/\.$/, "");
    const dashed = dashedArgument(err, argv);
    if (dashed !== undefined) {
      throw new UsageError(
        `${message} (in ${shownWord(dashed)}); an argument that starts with "-" goes after "--", as in '${PROGRAM} ${where} -- ${looksLikeToken(dashed) ? "<argument>" : dashed}'`,
      );
    }
    throw new UsageError(`${message}; run '${PROGRAM} ${where} --help'`);
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    const choices = specs[name]?.choices;
    if (!choices) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (!choices.includes(String(v))) {
        throw new UsageError(`--${name}: "${v}" is not one of ${choices.join(", ")}`);
      }
    }
  }
  const positionals = parsed.positionals.slice(2);
  const declared = command.positionals ?? [];
  if (positionals.length > declared.length) {
    throw new UsageError(
      `unexpected argument "${positionals[declared.length]}"; run '${PROGRAM} ${where} --help'`,
    );
  }
  const missing = declared.slice(positionals.length).find((p) => !p.optional);
  if (missing) throw new UsageError(`missing ${missing.name}; run '${PROGRAM} ${where} --help'`);
  const output = (parsed.values.output as string | undefined) ?? outputs[0]!;
  return {
    kind: "run",
    group,
    command,
    args: new Args(parsed.values, positionals, specs, where),
    output: output as OutputFormat,
  };
}

/**
 * The word behind an unknown single-dash option, when it is more than an option letter: an
 * identifier that starts with "-" ("-Fx3..." reads as the options -F, -x, ...). parseArgs names
 * the letter alone; the user needs to know which word, and that "--" ends the options.
 */
function dashedArgument(err: unknown, argv: readonly string[]): string | undefined {
  if ((err as { code?: string }).code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION") return undefined;
  const option = /^Unknown option '(-[^-'])/.exec((err as Error).message)?.[1];
  if (option === undefined) return undefined;
  const end = argv.indexOf("--");
  return argv
    .slice(0, end === -1 ? undefined : end)
    .find((word) => word.length > 2 && word.startsWith(option));
}

/** The prefix of every access token's secret (src/issuance/access-tokens/secret.ts). */
const TOKEN_PREFIX = "certmint_";

const NOT_SHOWN =
  "(a word that looks like an access token, not shown: the CLI takes a token from --token-file or CERTMINT_TOKEN, never from the command line)";

const looksLikeToken = (word: string) =>
  word.startsWith(TOKEN_PREFIX) || /^[A-Za-z0-9_-]{32,}$/.test(word);

/**
 * A word of the command line as an error quotes it, unless it looks like an access token: there
 * is no --token option, so `certmint --token SECRET ca list` reads SECRET as the command, and
 * until stop 49 of 2026-12-06 the refusal printed it back to the terminal (an outside probe).
 */
function shownWord(word: string): string {
  return looksLikeToken(word) ? NOT_SHOWN : `"${word}"`;
}
