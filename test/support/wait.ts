/** Polls `cond` until it holds; fails after `timeoutMs` (a generous limit, not a sleep). */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const limit = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > limit) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
