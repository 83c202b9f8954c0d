import { AsyncLocalStorage } from "node:async_hooks";
import * as explicit from "./call";

/*
 * Transitional: the ambient scope of a gRPC call, for the use cases not yet given their Call
 * explicitly (src/issuance/call.ts). Removed once every use case takes its Call.
 */
export { type Actor, PROFILE_SCOPED_ROLES, ROLES, type Role } from "./call";
export type CallScope = explicit.Call;

const storage = new AsyncLocalStorage<CallScope>();

export function runInCallScope<T>(scope: CallScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

export function currentCallScope(): CallScope | undefined {
  return storage.getStore();
}

export function refuseIfAbandoned(): void {
  const scope = currentCallScope();
  if (scope) explicit.refuseIfAbandoned(scope);
}

export function mayActOnProfile(profileId: string | null): boolean {
  const scope = currentCallScope();
  return !scope || explicit.mayActOnProfile(scope, profileId);
}

export function requireProfileAccess(profile: { id: string | null; slug: string }): void {
  const scope = currentCallScope();
  if (scope) explicit.requireProfileAccess(scope, profile);
}
