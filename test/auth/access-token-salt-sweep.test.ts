/**
 * The salt a retried CreateAccessToken derives its secret from (src/issuance/access-tokens/
 * request-id.ts) is dropped once the replay window is over, by the sweep that deletes the
 * generated keys held for replays (src/issuance/certificates/held-keys.ts): from then on the
 * secret cannot be recomputed, even by someone holding the KEK and a copy of the database. A
 * token in its window keeps its salt, and a retry after the sweep is refused, naming the token.
 */
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../gen/ts/certmint/v1/access_token_service";
import { deleteExpiredHeldKeys } from "../../src/issuance/certificates/held-keys";
import { createStore } from "../../src/store/store";
import { call, expectRpcError, startTestCertmint, type TestCertmint } from "../support/harness";

describe("the replay window's end for access token secrets", () => {
  let h: TestCertmint;
  beforeAll(async () => {
    h = await startTestCertmint();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const create = (slug: string, requestId: string) =>
    call(
      h.accessTokens,
      "createAccessToken",
      CreateAccessTokenRequest.fromPartial({
        accessToken: { slug, role: Role.ROLE_AUDITOR },
        requestId,
      }),
    );
  const salted = async (id: string) =>
    (
      await h.db.query<{ salted: boolean }>(
        "select secret_salt is not null as salted from access_token where id = $1",
        [id],
      )
    )[0]!.salted;

  it("drops the salt of tokens past the window only; a retry afterwards is refused", async () => {
    const old = await create("salt-old", "salt-old-1");
    const young = await create("salt-young", "salt-young-1");
    expect(await salted(old.accessToken!.id)).toBe(true);
    await h.db.query(
      "update access_token set created_at = created_at - interval '2 hours' where id = $1",
      [old.accessToken!.id],
    );

    await deleteExpiredHeldKeys({
      store: createStore(h.running.database.orm),
      now: () => new Date(),
    });

    expect(await salted(old.accessToken!.id)).toBe(false);
    expect(await salted(young.accessToken!.id)).toBe(true);
    const retried = await create("salt-young", "salt-young-1");
    expect(retried.secret).toBe(young.secret);
    const refused = await expectRpcError(create("salt-old", "salt-old-1"));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.reason).toBe("TOKEN_SECRET_REPLAY_ENDED");
  });
});
