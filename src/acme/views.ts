import type {
  AccountRow,
  AuthorizationRow,
  ChallengeRow,
  OrderRow,
} from "../issuance/repositories";
import type { AcmeUrls } from "./context";
import type { AcmeIdentifier } from "./problem";

/** The JSON objects of RFC 8555 7.1.2-7.1.5, as clients receive them. */

export function accountView(urls: AcmeUrls, a: AccountRow) {
  return {
    status: a.status,
    contact: a.contact,
    orders: urls.orders(a.id),
    // RFC 8555 7.1.2: a binding is echoed as the JWS it was, here only its key id.
    ...(a.eab_key_id ? { externalAccountBinding: { kid: a.eab_key_id } } : {}),
  };
}

export function orderView(urls: AcmeUrls, o: OrderRow, authorizations: AuthorizationRow[]) {
  return {
    status: o.status,
    expires: o.expires_at.toISOString(),
    identifiers: o.identifiers,
    authorizations: authorizations.map((a) => urls.authz(a.id)),
    finalize: urls.finalize(o.id),
    ...(o.certificate_id && o.status === "valid"
      ? { certificate: urls.certificate(o.certificate_id) }
      : {}),
    ...(o.error ? { error: o.error } : {}),
    ...(o.replaces ? { replaces: o.replaces } : {}),
  };
}

export function identifierOf(a: AuthorizationRow): AcmeIdentifier {
  return { type: a.identifier_type, value: a.identifier_value };
}

export function authorizationView(urls: AcmeUrls, a: AuthorizationRow, challenges: ChallengeRow[]) {
  return {
    identifier: identifierOf(a),
    status: a.status,
    expires: a.expires_at.toISOString(),
    challenges: challenges.map((c) => challengeView(urls, c)),
    ...(a.wildcard ? { wildcard: true } : {}),
  };
}

export function challengeView(urls: AcmeUrls, c: ChallengeRow) {
  return {
    type: c.type,
    url: urls.challenge(c.id),
    status: c.status,
    token: c.token,
    ...(c.validated_at ? { validated: c.validated_at.toISOString() } : {}),
    ...(c.error ? { error: c.error } : {}),
  };
}
