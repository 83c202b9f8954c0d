import type { Logger } from "pino";

/** How long one cause's warning stands for every failure of that cause after it. */
export const WARNING_WINDOW_MS = 10_000;
/** Causes remembered at once (there are a few: "connection refused", "timeout", ...). */
const MAX_CAUSES = 100;

/**
 * One warning per cause per window. A database outage fails every call that needs the
 * database, and the event pump's and the sweeps' rounds too: a warning for each (80 lines for
 * 155 calls of one outage with two workers, test/probe/outage-refused.test.ts) buried the
 * outage's own lines (health NOT_SERVING, then SERVING) that an operator looks for. The first
 * failure of a cause in a window is a warning; the rest of the window are debug lines, and the
 * next warning of that cause says how many there were (`suppressed`).
 */
export class ThrottledWarnings {
  private readonly seen = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly windowMs = WARNING_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  warn(logger: Logger, cause: string, fields: Record<string, unknown>, message: string): void {
    const at = this.now();
    const seen = this.seen.get(cause);
    if (seen && at < seen.until) {
      seen.suppressed++;
      logger.debug(fields, message);
      return;
    }
    if (!seen && this.seen.size >= MAX_CAUSES) this.seen.clear();
    this.seen.set(cause, { until: at + this.windowMs, suppressed: 0 });
    const suppressed = seen?.suppressed ?? 0;
    logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}

const perLogger = new WeakMap<Logger, ThrottledWarnings>();

/** The throttle of one server's logger (tests run several servers in one process). */
export function throttledWarnings(logger: Logger): ThrottledWarnings {
  let throttle = perLogger.get(logger);
  if (!throttle) {
    throttle = new ThrottledWarnings();
    perLogger.set(logger, throttle);
  }
  return throttle;
}
