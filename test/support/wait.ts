/**
 * Waiting for states, never for durations (a test must pass on a busy machine): poll a
 * condition, with an overall bound that only a hung test reaches.
 */

/** How long a wait may take before the test fails: generous, since the machine may be busy. */
export const WAIT_TIMEOUT_MS = 60_000;

/** Polls `probe` until it returns true; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until this machine's clock is past `time` (a timestamp the server took), so that a
 * timestamp taken from now on would differ from it: for tests that a second call keeps the
 * first call's time.
 */
export function clockPast(time: Date): Promise<void> {
  return waitFor(`the clock to pass ${time.toISOString()}`, () => Date.now() > time.getTime());
}

/** Polls `cond` until it holds; fails after `timeoutMs` (the name older tests use for waitFor). */
export function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = WAIT_TIMEOUT_MS,
): Promise<void> {
  return waitFor(what, cond, timeoutMs);
}
