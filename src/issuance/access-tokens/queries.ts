import type { MikroORM } from "@mikro-orm/postgresql";
import { AccessTokenEntity, type AccessTokenRow } from "../../store/entities";
import { oldestFirstPage, type Page, type PageRequest } from "../common/list-page";
import type { PageTokenKeys } from "../common/pagination";
import { findByRef } from "../common/refs";

export type AccessTokenState = "ACTIVE" | "EXPIRED" | "REVOKED";

export function accessTokenState(row: AccessTokenRow, now: Date): AccessTokenState {
  if (row.revokedAt) return "REVOKED";
  return row.expiresAt.getTime() <= now.getTime() ? "EXPIRED" : "ACTIVE";
}

export function findAccessToken(
  deps: { orm: MikroORM },
  ref: string,
  field = "access_token",
): Promise<AccessTokenRow> {
  return findByRef(deps.orm.em.fork(), AccessTokenEntity, ref, "access token", field);
}

export function listAccessTokens(
  deps: { orm: MikroORM; keyring: PageTokenKeys },
  page: PageRequest,
): Promise<Page<AccessTokenRow>> {
  return oldestFirstPage(deps.orm.em.fork(), deps.keyring, AccessTokenEntity, page, {
    list: "ListAccessTokens",
  });
}
