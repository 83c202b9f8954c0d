import { ACCOUNT_DEACTIVATED_ERROR } from "../../issuance/acme-accounts/end";
import { type AccountRow, UniqueConflict } from "../../issuance/repositories";
import { type AccountKey, jwkThumbprint, verifyJwsSignature } from "../../signer/jws";
import { accountStillValid, auditAs } from "../acting";
import { isAccountKeyBlocked } from "../blocked-account-key";
import { KeyOfRevokedCreator, verifyExternalAccountBinding } from "../eab";
import {
  type AcmeExchange,
  type AcmeResponse,
  requireAccount,
  requireEmptyPayload,
  takeRate,
} from "../http/exchange";
import {
  checkAlgFitsKey,
  decodeB64url,
  keyOfJwk,
  parseFlattenedJws,
  parseJson,
  protectedHeaderOf,
} from "../http/jws-request";
import { AcmeProblem, malformed } from "../problem";
import { accountView } from "../views";

const MAX_CONTACTS = 10;
/** Control (C0, DEL, C1), format (zero-width, bidi), separator, private-use, unassigned. */
const CONTACT_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Z}\p{Co}\p{Cs}\p{Cn}]/u;

/**
 * RFC 8555 7.3: contacts are mailto: URLs (certmint sends no mail; they are kept for operators).
 * A URL of another scheme (tel:, https:) is unsupportedContact, as 7.3 requires ("MUST"); until
 * 2026-12-05 it was invalidContact. A mailto: URL that is not one plain address (hfields, two
 * addresses) stays invalidContact.
 */
function contactsOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_CONTACTS) {
    throw malformed(`contact must be an array of at most ${MAX_CONTACTS} mailto: URLs`);
  }
  return value.map((c) => {
    if (typeof c !== "string") {
      throw new AcmeProblem("invalidContact", "each contact must be a mailto: URL string");
    }
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(c)?.[1]?.toLowerCase();
    if (scheme !== undefined && scheme !== "mailto") {
      throw new AcmeProblem(
        "unsupportedContact",
        `contact scheme "${scheme}:" is not supported: only mailto: URLs are`,
      );
    }
    // RFC 6068 / RFC 5322 addr-spec has no control or format character; one in a contact is
    // planted for whoever displays it (ESC sequences in an operator's terminal, a bidi override
    // reversing the address in a UI), as Boulder refuses it (invalidContact). Named by code
    // point, never echoed. Until stop 46 of 2026-12-06 "mailto:\u001b[31ma@example.com" was
    // stored and returned (an outside probe).
    const bad = CONTACT_FORBIDDEN.exec(c);
    if (bad) {
      const at = [...c.slice(0, bad.index)].length + 1;
      const point = (bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
      throw new AcmeProblem(
        "invalidContact",
        `contact character ${at} is U+${point}, a control, format, separator or unassigned character: a mailto: address has none (RFC 6068, RFC 5322)`,
      );
    }
    if (!/^mailto:[^\s,?]{3,254}$/.test(c)) {
      throw new AcmeProblem(
        "invalidContact",
        "contact must be mailto: URLs of one address each, without hfields (?...)",
      );
    }
    return c;
  });
}

/** A boolean field of a payload (RFC 8555 7.3): absent is undefined; any other type is malformed. */
function booleanField(payload: Record<string, unknown>, name: string): boolean | undefined {
  const value = payload[name];
  if (value === undefined || typeof value === "boolean") return value;
  const got = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
  throw malformed(`${name} must be true or false (a JSON boolean, RFC 8555 7.3), not ${got}`);
}

/**
 * RFC 8555 7.3 and 7.3.5: an account key revoked for key compromise (the blocked_key table,
 * issuance/certificates/blocked-keys.ts) is badPublicKey, as Boulder checks account keys
 * against its blocked keys: that key is publicly known to be compromised, so whoever holds it
 * could act as the account. Until 2026-12-05 such a key opened an account.
 */
async function refuseBlockedKey(x: AcmeExchange, key: AccountKey, what: string): Promise<void> {
  if (await isAccountKeyBlocked(x.ctx.store.certificates, key)) {
    throw new AcmeProblem(
      "badPublicKey",
      `${what} was revoked for key compromise (RFC 5280 keyCompromise) and is blocked: generate a new key pair`,
    );
  }
}

/**
 * newAccount (RFC 8555 7.3): the key's existing account (200), or a new one (201); with
 * onlyReturnExisting only an existing one (7.3.1). A profile that requires External Account
 * Binding refuses accounts without a valid binding (7.3.4: externalAccountRequired). Accounts
 * created without one are limited per client address (takeNewAccount); finding one is not.
 */
export async function newAccount(x: AcmeExchange): Promise<AcmeResponse> {
  const request = await x.verify("jwk");
  await takeRate(x, `key:${request.key.thumbprint}`);
  // RFC 8555 7.3: newAccount's payload is a JSON object; an empty one (the POST-as-GET form)
  // created an account until 2026-12-05.
  if (request.payload === undefined) {
    throw malformed(
      'newAccount needs a JSON object payload (RFC 8555 7.3), e.g. {"termsOfServiceAgreed": true}',
    );
  }
  const payload = request.payload as Record<string, unknown>;
  // RFC 8555 7.3: both are booleans. Read loosely, {"onlyReturnExisting": "yes"} (a client
  // asking only to find its account) was taken for false and created one, until stop 46 of
  // 2026-12-06 (an outside probe); checked before anything is looked up or written.
  const onlyReturnExisting = booleanField(payload, "onlyReturnExisting");
  const termsOfServiceAgreed = booleanField(payload, "termsOfServiceAgreed");
  const existing = await x.ctx.store.acme.accountByKey(x.profile.id, request.key.thumbprint);
  if (existing) {
    if (existing.status !== "valid") {
      throw new AcmeProblem("unauthorized", `the account is ${existing.status}`, 401);
    }
    return {
      status: 200,
      body: accountView(x.urls, existing),
      location: x.urls.account(existing.id),
    };
  }
  if (onlyReturnExisting === true) {
    throw new AcmeProblem("accountDoesNotExist", "no account has this key");
  }
  if (termsOfServiceAgreed === false) {
    throw malformed("termsOfServiceAgreed must not be false");
  }
  const contact = contactsOf(payload.contact);
  await refuseBlockedKey(x, request.key, "this account key");
  const binding = payload.externalAccountBinding;
  if (binding === undefined && x.profile.requireExternalAccountBinding) {
    throw new AcmeProblem(
      "externalAccountRequired",
      `profile "${x.profile.slug}" requires an External Account Binding key (ask an admin for one)`,
    );
  }
  // Without a binding a new account costs its client nothing: it spends its address's budget
  // before the row is written, and gets it back if no row is (an error, or a lost race below).
  const refund = binding === undefined ? await takeNewAccount(x) : undefined;
  let account: AccountRow | undefined;
  try {
    account = await x.ctx.store.transaction(async (tx) => {
      const eabKeyId =
        binding === undefined
          ? null
          : await verifyExternalAccountBinding(x, tx, binding, request.key.jwk);
      const row = await tx.acme.insertAccount(
        {
          profile_id: x.profile.id,
          key_thumbprint: request.key.thumbprint,
          jwk: request.key.jwk,
          contact,
          eab_key_id: eabKeyId,
        },
        x.now,
      );
      if (row && eabKeyId) {
        await tx.acme.bindExternalAccountKey(eabKeyId, row.id, x.now);
      }
      if (row) await auditAs(x, row, "newAccount", tx, { type: "acme_account", id: row.id });
      return row;
    });
  } catch (err) {
    refund?.();
    if (err instanceof KeyOfRevokedCreator) {
      await x.ctx.store.acme.revokeKeyWithItsCreator(err.keyId);
    }
    throw err;
  }
  if (!account) {
    refund?.();
    // Another request created it meanwhile: answer as for an existing account.
    const winner = await x.ctx.store.acme.accountByKey(x.profile.id, request.key.thumbprint);
    return {
      status: 200,
      body: accountView(x.urls, winner!),
      location: x.urls.account(winner!.id),
    };
  }
  x.ctx.logger.info({ account: account.id, profile: x.profile.slug }, "ACME account created");
  return { status: 201, body: accountView(x.urls, account), location: x.urls.account(account.id) };
}

/**
 * RFC 8555 6.6: accounts without External Account Binding, limited per client address (IPv4
 * address, IPv6 /64; and an IPv6 /48 to 16 times that, as Let's Encrypt limits registrations per
 * /48) by CERTMINT_ACME_NEW_ACCOUNTS_PER_ADDRESS_PER_HOUR: rateLimited with
 * Retry-After past it. Each is a row kept for good, which one address could otherwise add at
 * its general rate (100 a second) with no credential. Returns what gives the creation back.
 */
async function takeNewAccount(x: AcmeExchange): Promise<() => void> {
  const wait = await x.ctx.newAccountLimiter.take(x.peer);
  if (wait > 0) {
    const retryAfter = Math.max(1, Math.ceil(wait));
    throw new AcmeProblem(
      "rateLimited",
      `too many new accounts from this address; retry after ${retryAfter} s`,
      429,
      { retryAfter },
    );
  }
  return () => x.ctx.newAccountLimiter.refund(x.peer);
}

/**
 * What a request of an account deactivated while it waited for approval records: the same as
 * for an account deactivated with a revoked token line (issuance/acme-accounts/end.ts).
 */
const DEACTIVATED = ACCOUNT_DEACTIVATED_ERROR;

/** POST to an account URL (RFC 8555 7.3.2, 7.3.6): read it, change its contacts, or deactivate it. */
export async function updateAccount(x: AcmeExchange, accountId: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request, accountId);
  await takeRate(x, `account:${account.id}`);
  if (request.payload === undefined) return { status: 200, body: accountView(x.urls, account) };
  const payload = request.payload as Record<string, unknown>;
  if (payload.status !== undefined && payload.status !== "deactivated") {
    throw malformed('status may only be changed to "deactivated"');
  }
  const change = {
    ...(payload.status === "deactivated" ? { status: "deactivated" as const } : {}),
    ...(payload.contact !== undefined ? { contact: contactsOf(payload.contact) } : {}),
  };
  const updated = await x.ctx.store.transaction(async (tx) => {
    // The account as committed, its row locked for the change: one an admin revoked
    // (RevokeAcmeAccount) or a cut line deactivated after this request was verified stays as
    // that left it, its status not overwritten, its contacts not changed.
    accountStillValid(await tx.acme.lockAccount(account.id));
    const row = await tx.acme.updateAccount(account.id, change, x.now);
    await auditAs(x, account, "account", tx, { type: "acme_account", id: account.id });
    if (account.status !== "deactivated" && row.status === "deactivated") {
      // Its requests waiting for approval are rejected with it, as a revoked token's are
      // (access-tokens/revoke.ts): an approval would refuse them REQUESTER_DEACTIVATED.
      const rejected = await tx.requests.rejectWaitingOf(account.id, DEACTIVATED, x.now);
      for (const id of rejected) {
        await auditAs(x, account, "account", tx, { type: "certificate_request", id });
      }
    }
    return row;
  });
  if (updated.status === "deactivated") {
    x.ctx.logger.info({ account: account.id }, "ACME account deactivated");
  }
  return { status: 200, body: accountView(x.urls, updated) };
}

/** The orders list of an account (RFC 8555 7.1.2.1): its orders not yet finished. */
export async function listOrders(x: AcmeExchange, accountId: string): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request, accountId);
  requireEmptyPayload(request, "an orders list");
  await takeRate(x, `account:${account.id}`, x.ctx.readLimiter);
  const orders = await x.ctx.store.acme.ordersOf(account.id);
  return { status: 200, body: { orders: orders.map((o) => x.urls.order(o.id)) } };
}

/**
 * keyChange (RFC 8555 7.3.5): the outer JWS is signed by the account's key, the inner one (its
 * payload) by the new key, over {account, oldKey}, at the same URL. The new key must not belong
 * to another account of the profile (409 with that account's URL).
 */
export async function keyChange(x: AcmeExchange): Promise<AcmeResponse> {
  const request = await x.verify("kid");
  const account = requireAccount(request);
  await takeRate(x, `account:${account.id}`);
  const inner = parseFlattenedJws(request.payload);
  const header = protectedHeaderOf(inner);
  if (header.jwk === undefined || header.kid !== undefined) {
    throw malformed("the inner JWS must carry the new key as jwk");
  }
  if (header.url !== x.url) throw malformed("the inner JWS url must equal the outer one");
  if ("nonce" in header) throw malformed("the inner JWS must not carry a nonce");
  const newKey = keyOfJwk(header.jwk);
  checkAlgFitsKey(header.alg, newKey);
  if (
    !verifyJwsSignature(
      newKey,
      header.alg,
      `${inner.protected}.${inner.payload}`,
      decodeB64url(inner.signature, "inner signature"),
    )
  ) {
    throw malformed("the inner JWS signature does not verify with the new key");
  }
  const body = parseJson(decodeB64url(inner.payload, "inner payload"), "inner payload") as Record<
    string,
    unknown
  >;
  if (body?.account !== x.urls.account(account.id)) {
    throw malformed("the inner payload must name this account");
  }
  let oldThumbprint: string;
  try {
    oldThumbprint = keyOfJwk(body.oldKey).thumbprint;
  } catch {
    throw malformed("oldKey is not a valid public key");
  }
  if (oldThumbprint !== account.key_thumbprint) {
    throw malformed("oldKey is not the account's current key");
  }
  await refuseBlockedKey(x, newKey, "the new key");
  const holder = await x.ctx.store.acme.accountByKey(x.profile.id, newKey.thumbprint);
  if (holder) {
    // RFC 8555 7.3.5: 409 with the Location of the account holding the key, which may be
    // this one (a rollover to the key it already has).
    const whose =
      holder.id === account.id
        ? "the new key is already this account's key: nothing to roll over"
        : "the new key belongs to another account";
    throw new AcmeProblem("malformed", whose, 409, {
      location: x.urls.account(holder.id),
    });
  }
  try {
    await x.ctx.store.transaction(async (tx) => {
      // The account as committed, its row locked for the change, as updateAccount does: one an
      // admin revoked (RevokeAcmeAccount) or a cut line deactivated after this request was
      // verified keeps its key and answers unauthorized; one whose key another rollover changed
      // meanwhile is not rolled over from a key it no longer has.
      const current = accountStillValid(await tx.acme.lockAccount(account.id));
      if (current.keyThumbprint !== oldThumbprint) {
        throw malformed("oldKey is not the account's current key");
      }
      const thumbprint = jwkThumbprint(newKey.jwk);
      await tx.acme.replaceAccountKey(account.id, newKey.jwk, thumbprint, x.now);
      await auditAs(x, account, "keyChange", tx, { type: "acme_account", id: account.id });
    });
  } catch (err) {
    // Another rollover to the same key won the race (the unique (profile, key) index): 409 with
    // the winner's Location, as above (until stop 60 of 2026-12-08 without it: an outside probe).
    if (!(err instanceof UniqueConflict)) throw err;
    const winner = await x.ctx.store.acme.accountByKey(x.profile.id, newKey.thumbprint);
    throw new AcmeProblem(
      "malformed",
      "the new key belongs to another account",
      409,
      winner ? { location: x.urls.account(winner.id) } : undefined,
    );
  }
  x.ctx.logger.info({ account: account.id }, "ACME account key rolled over");
  const updated = await x.ctx.store.acme.account(account.id);
  return { status: 200, body: accountView(x.urls, updated!) };
}
