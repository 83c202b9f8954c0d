import { listPage, type Page, type PageRequest } from "../common/list-page";
import type { PageTokenKeys } from "../common/pagination";
import { resolveRef } from "../common/refs";
import type { AccessToken, AccessTokenRepository, AccessTokenView } from "../repositories";
import { tokenView } from "./request-id";

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
  return tokenView(await resolveRef(ref, "access token", field, (k) => deps.store.tokens.find(k)));
}

export async function listAccessTokens(
  deps: AccessTokenQueryDeps,
  request: PageRequest & { caller: string },
): Promise<Page<AccessTokenView>> {
  const page = await listPage(
    deps.keyring,
    request,
    { list: "ListAccessTokens", filter: { caller: request.caller } },
    (query) => deps.store.tokens.listOldestFirst(query),
  );
  return { ...page, items: page.items.map(tokenView) };
}
