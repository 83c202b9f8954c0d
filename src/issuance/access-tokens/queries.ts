import { listPage, type Page, type PageRequest } from "../common/list-page";
import type { PageTokenKeys } from "../common/pagination";
import { resolveRef } from "../common/refs";
import {
  type AccessToken,
  type AccessTokenRepository,
  type AccessTokenView,
  accessTokenView,
} from "../repositories";

export type AccessTokenState = "ACTIVE" | "EXPIRED" | "REVOKED";

export function accessTokenState(
  token: Pick<AccessToken, "revokedAt" | "expiresAt">,
  now: Date,
): AccessTokenState {
  if (token.revokedAt) return "REVOKED";
  return token.expiresAt.getTime() <= now.getTime() ? "EXPIRED" : "ACTIVE";
}

export interface AccessTokenQueryDeps {
  store: { tokens: Pick<AccessTokenRepository, "find" | "listOldestFirst"> };
  keyring: PageTokenKeys;
}

export async function findAccessToken(
  deps: Pick<AccessTokenQueryDeps, "store">,
  ref: string,
  field = "access_token",
): Promise<AccessTokenView> {
  return accessTokenView(
    await resolveRef(ref, "access token", field, (k) => deps.store.tokens.find(k)),
  );
}

export async function listAccessTokens(
  deps: AccessTokenQueryDeps,
  request: PageRequest,
): Promise<Page<AccessTokenView>> {
  const page = await listPage(deps.keyring, request, { list: "ListAccessTokens" }, (query) =>
    deps.store.tokens.listOldestFirst(query),
  );
  return { ...page, items: page.items.map(accessTokenView) };
}
