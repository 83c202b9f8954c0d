import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Turns each AsyncLocalStorage off again once no run() of it is in progress, so that Node's
 * promise hooks run only while some code needs its context.
 *
 * On Node 20 an AsyncLocalStorage works through async_hooks: from its first run() on, a hook
 * runs for every promise the process creates and copies the store onto it, and it stays on for
 * the life of the process (Node 22's AsyncContextFrame ends that cost; certmint runs on 20).
 * MikroORM runs four of them (TransactionContext, UnitOfWork's insideFlush, RawQueryFragment,
 * RequestContext) for em.transactional, flush and findAndCount, which certmint's start-up and
 * its administrative calls use, while the issuance path runs its own SQL and needs none: with
 * the hooks on for good, an issuance paid for them on each of its promises. Measured with
 * bench/profile/ab.ts (64 clients, 6 rounds of 10 s, the builds before and after this side by
 * side): server CPU per issuance 0.914 ms before, 0.874 after (-4.4%), lower in 5 of 6 rounds.
 *
 * What changes for a storage's users: after the last run() of a storage has settled (its
 * callback returned, or the promise it returned settled), getStore() outside any run answers
 * undefined, as it would have there anyway; a continuation that a run's callback left behind
 * without awaiting it (a timer set inside it, say) no longer sees the run's store. MikroORM's
 * uses end with their callbacks. A storage entered with enterWith() (no run to end) is never
 * turned off. Installed once, by the server's entry point (main.ts), before anything runs.
 */
export function disableAsyncLocalStorageWhenIdle(): void {
  const proto = AsyncLocalStorage.prototype as unknown as PatchedPrototype;
  if (proto[INSTALLED]) return;
  proto[INSTALLED] = true;
  const run = proto.run;
  const enterWith = proto.enterWith;
  /** Runs in progress per storage; a storage with none has no entry. */
  const active = new WeakMap<AsyncLocalStorage<unknown>, number>();
  /** Storages entered with enterWith: their store outlives any run, so they stay on. */
  const entered = new WeakSet<AsyncLocalStorage<unknown>>();

  const settle = (storage: AsyncLocalStorage<unknown>) => {
    const left = (active.get(storage) ?? 1) - 1;
    if (left > 0) {
      active.set(storage, left);
      return;
    }
    active.delete(storage);
    // With no storage left on, Node removes its promise hooks.
    if (!entered.has(storage)) storage.disable();
  };

  proto.run = function (this: AsyncLocalStorage<unknown>, store, callback, ...args) {
    active.set(this, (active.get(this) ?? 0) + 1);
    let result: unknown;
    try {
      result = run.call(this, store, callback, ...args);
    } catch (err) {
      settle(this);
      throw err;
    }
    if (isThenable(result)) {
      // Both handlers: the caller still gets the rejection from `result` itself.
      result.then(
        () => settle(this),
        () => settle(this),
      );
    } else {
      settle(this);
    }
    return result;
  };
  proto.enterWith = function (this: AsyncLocalStorage<unknown>, store) {
    entered.add(this);
    return enterWith.call(this, store);
  };
}

const INSTALLED = Symbol.for("certmint.idleAsyncContext");

interface PatchedPrototype {
  [INSTALLED]?: boolean;
  run(
    this: AsyncLocalStorage<unknown>,
    store: unknown,
    callback: (...args: never[]) => unknown,
    ...args: unknown[]
  ): unknown;
  enterWith(this: AsyncLocalStorage<unknown>, store: unknown): void;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === "function"
  );
}
