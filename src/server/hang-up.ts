import type { Logger } from "./logger";

/**
 * SIGHUP is what logrotate's postrotate and many operators send to "reload", and what a closed
 * terminal sends: its default action killed the server at once, mid-write, with no log line and
 * the embedded lock left behind (an outside probe, 2026-12-05). certmint has nothing to reload
 * by signal (it re-reads its TLS files by itself, and logs to stdout), so it keeps serving and
 * says so; SIGTERM stops it. Installed by a lone server, each worker and the supervisor.
 */
export function ignoreHangUp(logger: Logger): void {
  logger.info(
    { signal: "SIGHUP" },
    "SIGHUP ignored: certmint re-reads its TLS files by itself and logs to stdout; SIGTERM stops it",
  );
}
