import {
  type AccessTokenServiceServer,
  AccessTokenServiceService,
} from "../../gen/ts/certmint/v1/access_token_service";
import { createAccessToken } from "../issuance/access-tokens/create";
import { findAccessToken, listAccessTokens } from "../issuance/access-tokens/queries";
import { revokeAccessToken } from "../issuance/access-tokens/revoke";
import type { IssuanceDeps } from "../issuance/deps";
import { accessTokenToProto, bindingFromProto, roleCodec } from "./convert/access";
import { requestIdOf } from "./convert/request-id";
import { durationToSeconds } from "./convert/time";
import { type HandlerDeps, unary } from "./unary";

/** Thin handlers: map the request, call one use case, map the result. */
export function accessTokenHandlers(
  deps: HandlerDeps,
  issuance: () => IssuanceDeps,
): Partial<AccessTokenServiceServer> {
  return {
    createAccessToken: unary(
      AccessTokenServiceService.createAccessToken.path,
      async (req, ctx) => {
        const given = req.accessToken;
        const created = await createAccessToken(issuance(), ctx.call, {
          slug: given?.slug ?? "",
          description: given?.description ?? "",
          role: roleCodec.fromProto(given?.role ?? 0, "access_token.role"),
          profiles: given?.certificateProfiles ?? [],
          binding: bindingFromProto(given?.clientCertificateBinding),
          legacyIdentity: given?.clientCertificateIdentity ?? "",
          ttlSeconds: durationToSeconds(req.ttl, "ttl"),
          creatorId: ctx.actor.id,
          requestId: requestIdOf(req.requestId),
        });
        deps.security().tokenCreated();
        return {
          accessToken: accessTokenToProto(created.token, issuance().now()),
          secret: created.secret ?? "",
        };
      },
      deps,
    ),

    getAccessToken: unary(
      AccessTokenServiceService.getAccessToken.path,
      async (req) => ({
        accessToken: accessTokenToProto(
          await findAccessToken(issuance(), req.accessToken),
          issuance().now(),
        ),
      }),
      deps,
    ),

    listAccessTokens: unary(
      AccessTokenServiceService.listAccessTokens.path,
      async (req, ctx) => {
        const page = await listAccessTokens(issuance(), {
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          caller: ctx.actor.id,
        });
        const now = issuance().now();
        return {
          accessTokens: page.items.map((token) => accessTokenToProto(token, now)),
          nextPageToken: page.nextPageToken,
        };
      },
      deps,
    ),

    revokeAccessToken: unary(
      AccessTokenServiceService.revokeAccessToken.path,
      async (req, ctx) => {
        const revoked = await revokeAccessToken(
          {
            ...issuance(),
            forgetCredential: (id) => deps.security().forgetCredential(id),
          },
          ctx.call,
          req.accessToken,
          { revokeCreatedTokens: req.revokeCreatedTokens },
        );
        const now = issuance().now();
        return {
          accessToken: accessTokenToProto(revoked.token, now),
          revokedCreatedTokens: revoked.revokedCreated.map((t) => accessTokenToProto(t, now)),
        };
      },
      deps,
    ),
  };
}
