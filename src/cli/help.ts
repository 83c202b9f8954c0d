/** --help texts of the program, a group and a command, from their specs. */
import type { CommandSpec, GroupSpec, OptionSection, OptionSpec } from "./command";
import { DEFAULT_OUTPUTS, GLOBAL_SECTIONS, outputSection } from "./global-options";

export const PROGRAM = "certmint";
const WIDTH = 100;

function wrap(text: string, indent: number, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${" ".repeat(indent)}${l}`);
}

function paragraphs(text: string | undefined): string[] {
  if (!text) return [];
  return text.split(/\n\s*\n/).flatMap((p) => [...wrap(p, 0), ""]);
}

function optionLabel(name: string, spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : "";
  const negation = spec.negatable ? `, --no-${name}` : "";
  const value = spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : "";
  return `${short}--${name}${value}${negation}`;
}

function optionText(spec: OptionSpec): string {
  const notes = [
    ...(spec.choices ? [`one of: ${spec.choices.join(", ")}`] : []),
    ...(spec.multiple ? ["repeatable"] : []),
  ];
  return notes.length > 0 ? `${spec.description} (${notes.join("; ")})` : spec.description;
}

function renderSections(sections: readonly OptionSection[]): string[] {
  const all = sections.flatMap((s) =>
    Object.entries(s.specs).map(([n, spec]) => optionLabel(n, spec)),
  );
  const column = Math.min(34, Math.max(...all.map((l) => l.length)) + 4);
  const lines: string[] = [];
  for (const section of sections) {
    if (Object.keys(section.specs).length === 0) continue;
    lines.push(`${section.title}:`);
    for (const [name, spec] of Object.entries(section.specs)) {
      const label = `  ${optionLabel(name, spec)}`;
      const text = wrap(optionText(spec), column + 2);
      if (label.length < column + 1)
        lines.push(`${label.padEnd(column + 2)}${text[0]!.trimStart()}`, ...text.slice(1));
      else lines.push(label, ...text);
    }
    lines.push("");
  }
  return lines;
}

export function rootHelp(groups: readonly GroupSpec[]): string {
  const width = Math.max(...groups.map((g) => g.name.length)) + 4;
  return [
    `${PROGRAM}: the command-line client of certmint, an internal PKI spoken to over gRPC.`,
    "",
    `Usage: ${PROGRAM} <command> <subcommand> [options]`,
    "",
    "Commands:",
    ...groups.map((g) => `  ${g.name.padEnd(width)}${g.summary}`),
    "",
    `Run '${PROGRAM} <command> --help' for its subcommands, and '${PROGRAM} <command> <subcommand> --help' for their options.`,
    "",
    ...renderSections(GLOBAL_SECTIONS),
  ].join("\n");
}

export function groupHelp(group: GroupSpec): string {
  const width = Math.max(...group.commands.map((c) => c.name.length)) + 4;
  return [
    `${PROGRAM} ${group.name}: ${group.summary}`,
    "",
    `Usage: ${PROGRAM} ${group.name} <subcommand> [options]`,
    "",
    ...paragraphs(group.description),
    "Subcommands:",
    ...group.commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    `Run '${PROGRAM} ${group.name} <subcommand> --help' for its options.`,
    "",
  ].join("\n");
}

export function commandHelp(group: GroupSpec, command: CommandSpec): string {
  const positionals = (command.positionals ?? []).map((p) => (p.optional ? `[${p.name}]` : p.name));
  const usage = [PROGRAM, group.name, command.name, ...positionals, "[options]"].join(" ");
  const positionalLines = (command.positionals ?? []).map(
    (p) => `  ${p.name.padEnd(14)}${p.description}`,
  );
  return [
    `${PROGRAM} ${group.name} ${command.name}: ${command.summary}`,
    "",
    `Usage: ${usage}`,
    "",
    ...paragraphs(command.description),
    ...(positionalLines.length > 0 ? ["Arguments:", ...positionalLines, ""] : []),
    ...renderSections([
      ...command.options,
      outputSection(command.outputs ?? DEFAULT_OUTPUTS),
      ...GLOBAL_SECTIONS,
    ]),
    ...(command.examples && command.examples.length > 0
      ? ["Examples:", ...command.examples.map((e) => `  ${e}`), ""]
      : []),
  ].join("\n");
}
