/**
 * Readable log lines for a terminal (CERTMINT_LOG_FORMAT=pretty, or auto on a TTY): pino still
 * builds each record (serializers and redaction apply as in JSON), and this destination turns
 * the JSON line into `12:04:05.123 INFO  call method=... code=OK durationMs=1.2`, an error's
 * stack frames indented below it. Machines read the JSON format; nothing parses this one.
 */

const LEVELS: Record<number, [string, string]> = {
  10: ["TRACE", "\x1b[90m"],
  20: ["DEBUG", "\x1b[36m"],
  30: ["INFO ", "\x1b[32m"],
  40: ["WARN ", "\x1b[33m"],
  50: ["ERROR", "\x1b[31m"],
  60: ["FATAL", "\x1b[35m"],
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
/** Fields every line has, or that the line shows in its own place. */
const OMITTED = new Set(["level", "time", "msg", "service", "pid", "hostname", "err"]);

export interface LineSink {
  write(text: string): unknown;
}

export function prettyDestination(out: LineSink, colors: boolean): { write(line: string): void } {
  const paint = (code: string, text: string) => (colors ? `${code}${text}${RESET}` : text);
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line);
      } catch {
        out.write(line);
        return;
      }
      const [name, color] = LEVELS[Number(record.level)] ?? ["?    ", ""];
      const time = typeof record.time === "string" ? record.time.slice(11, 23) : "";
      const fields = Object.entries(record)
        .filter(([k]) => !OMITTED.has(k))
        .map(([k, v]) => `${paint(DIM, `${k}=`)}${typeof v === "string" ? v : JSON.stringify(v)}`);
      let text = `${paint(DIM, time)} ${paint(color, name)} ${String(record.msg ?? "")}`;
      if (fields.length > 0) text += ` ${fields.join(" ")}`;
      const err = record.err as { type?: string; message?: string; stack?: string } | undefined;
      if (err) {
        text += `\n    ${err.type ?? "Error"}: ${err.message ?? ""}`;
        if (err.stack) text += `\n${err.stack.replace(/^/gm, "    ")}`;
      }
      out.write(`${text}\n`);
    },
  };
}
