import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { type RunningCertmint, startCertmint } from "../../src/app";
import { loadConfig } from "../../src/config";
import { testLogFile } from "../support/harness";

/** certmint in this process with the given environment, capturing its JSON log lines. */
export interface LoggedCertmint {
  running: RunningCertmint;
  port: number;
  logs: Array<Record<string, unknown>>;
  /** Every log line as written, for scanning. */
  text(): string;
}

export async function startLogged(
  databaseUrl: string,
  env: Record<string, string>,
): Promise<LoggedCertmint> {
  const config = loadConfig({
    CERTMINT_LISTEN: "127.0.0.1:0",
    DATABASE_URL: databaseUrl,
    // Never the repository's ./data. Servers sharing a database must share this directory too
    // (it holds the key-encryption key): pass CERTMINT_DATA_DIR then.
    CERTMINT_DATA_DIR: mkdtempSync(join(tmpdir(), "certmint-tls-")),
    CERTMINT_SHUTDOWN_GRACE_MS: "1000",
    ...env,
  });
  const raw: string[] = [];
  // Also into the run's log scan (test/support/global-log-scan.ts).
  const logFile = testLogFile("tls");
  const logger = pino(
    { level: config.logLevel },
    {
      write: (line: string) => {
        raw.push(line);
        if (logFile) appendFileSync(logFile, line);
      },
    },
  );
  const running = await startCertmint(config, logger);
  return {
    running,
    port: running.port,
    get logs() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(""),
  };
}
