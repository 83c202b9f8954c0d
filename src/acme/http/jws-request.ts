import { isUuid } from "../../issuance/common/refs";
import type { AccountRow, AcmeRepository } from "../../issuance/repositories";
import {
  type AccountKey,
  accountKeyFromJwk,
  JWS_ALGORITHMS,
  JwkError,
  verifyJwsSignature,
} from "../../signer/jws";
import { AcmeProblem, malformed } from "../problem";

/** A flattened JWS (RFC 7515 7.2.2), the only serialization ACME uses (RFC 8555 6.2). */
export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

export interface ProtectedHeader {
  alg: string;
  nonce?: string;
  url?: string;
  jwk?: unknown;
  kid?: string;
}

/** A request whose signature, nonce and URL were checked. */
export interface VerifiedRequest {
  header: ProtectedHeader;
  /** undefined for POST-as-GET (empty payload, RFC 8555 6.3). */
  payload: unknown;
  key: AccountKey;
  /** Set when the request was signed with an account's key (kid). */
  account?: AccountRow;
  jws: FlattenedJws;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

export function decodeB64url(value: string, what: string): Buffer {
  if (!B64URL.test(value)) throw malformed(`${what} is not base64url`);
  return Buffer.from(value, "base64url");
}

export function parseJson(bytes: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString());
  } catch {
    throw malformed(`${what} is not JSON`);
  }
}

/** The body as a flattened JWS; anything else is malformed. */
export function parseFlattenedJws(body: unknown): FlattenedJws {
  const o = body as Record<string, unknown> | null;
  if (
    typeof o !== "object" ||
    o === null ||
    typeof o.protected !== "string" ||
    typeof o.payload !== "string" ||
    typeof o.signature !== "string"
  ) {
    throw malformed("the body must be a flattened JWS: {protected, payload, signature}");
  }
  if ("header" in o) throw malformed("unprotected JWS headers are not allowed (RFC 8555 6.2)");
  return { protected: o.protected, payload: o.payload, signature: o.signature };
}

export function protectedHeaderOf(jws: FlattenedJws): ProtectedHeader {
  const header = parseJson(decodeB64url(jws.protected, "protected"), "the protected header");
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw malformed("the protected header must be a JSON object");
  }
  const h = header as Record<string, unknown>;
  if (typeof h.alg !== "string") throw malformed("the protected header has no alg");
  // RFC 7515 4.1.11: a "crit" extension must be understood or the JWS refused; certmint
  // understands none (RFC 7797 b64=false would change what the signature covers).
  if ("crit" in h || "b64" in h) {
    throw malformed("JWS header extensions (crit, b64) are not supported");
  }
  return h as unknown as ProtectedHeader;
}

export function keyOfJwk(jwk: unknown): AccountKey {
  try {
    return accountKeyFromJwk(jwk);
  } catch (err) {
    if (err instanceof JwkError) throw new AcmeProblem("badPublicKey", err.message);
    throw err;
  }
}

/**
 * RFC 7518 3.1, RFC 8555 6.2: a JWS alg is the key's own (ES256 for P-256, ES384 for P-384,
 * RS256 for RSA, EdDSA for Ed25519). Another one (ES384 over a P-256 key) is
 * badSignatureAlgorithm, as Boulder and Pebble answer; until 2026-12-05 it was malformed "the
 * signature does not verify", which sent clients looking for a broken signature.
 */
export function checkAlgFitsKey(alg: string, key: AccountKey): void {
  if (alg !== key.algorithm) {
    throw new AcmeProblem(
      "badSignatureAlgorithm",
      `alg ${alg} does not fit this key: a ${keyKind(key)} key signs with ${key.algorithm}`,
      400,
      { algorithms: [...JWS_ALGORITHMS] },
    );
  }
}

function keyKind(key: AccountKey): string {
  return { ES256: "P-256", ES384: "P-384", RS256: "RSA", EdDSA: "Ed25519" }[key.algorithm];
}

/** Longest nonce looked up: certmint's are 22 characters (16 random bytes, base64url). */
const MAX_NONCE_CHARS = 64;

/**
 * RFC 8555 6.5: a nonce that is absent or unacceptable is badNonce (which ACME clients answer by
 * retrying with a fresh nonce; Boulder answers an invalid one so too, "JWS has an invalid
 * anti-replay nonce"). 6.5.2: the nonce is a base64url octet string; one that is not, or longer
 * than any certmint issues, was never issued and costs no query. The value is never echoed
 * (it is client input: 5000 bytes of escape sequences once came back as "no nonce"). Until stop
 * 46 of 2026-12-06 a present but malformed nonce was reported as "the JWS has no nonce".
 */
function checkNonceForm(nonce: unknown): asserts nonce is string {
  const fresh = "take a fresh one from newNonce or a Replay-Nonce header";
  if (nonce === undefined || nonce === "") {
    throw new AcmeProblem(
      "badNonce",
      `the JWS protected header has no nonce (RFC 8555 6.5): ${fresh}`,
    );
  }
  if (typeof nonce !== "string") {
    throw new AcmeProblem(
      "badNonce",
      `the JWS nonce is a ${nonce === null ? "null" : typeof nonce}, not a base64url string (RFC 8555 6.5.2): ${fresh}`,
    );
  }
  if (!B64URL.test(nonce) || nonce.length > MAX_NONCE_CHARS) {
    throw new AcmeProblem(
      "badNonce",
      `the JWS nonce is malformed: ${[...nonce].length} characters, ${B64URL.test(nonce) ? `longer than the ${MAX_NONCE_CHARS} of any nonce certmint issues` : "not base64url"} (RFC 8555 6.5.2), so it was never issued: ${fresh}`,
    );
  }
}

/**
 * RFC 8555 6.2-6.5, in order: alg (badSignatureAlgorithm lists the accepted ones), exactly
 * one of jwk and kid (jwk only for newAccount and revokeCert), the url of this request, the
 * nonce (spent here: a replay is badNonce), the key (a kid names an account of this profile
 * that is valid), the alg fitting that key (checkAlgFitsKey), then the signature.
 */
export async function verifyRequest(
  store: Pick<AcmeRepository, "spendNonce" | "account">,
  jws: FlattenedJws,
  options: {
    url: string;
    accountUrlPrefix: string;
    profileId: string;
    now: Date;
    /** newAccount: jwk required; revokeCert: either; everything else: kid required. */
    keyFrom: "jwk" | "kid" | "either";
  },
): Promise<VerifiedRequest> {
  const header = protectedHeaderOf(jws);
  if (!(JWS_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw new AcmeProblem("badSignatureAlgorithm", `alg ${header.alg} is not accepted`, 400, {
      algorithms: [...JWS_ALGORITHMS],
    });
  }
  const hasJwk = header.jwk !== undefined;
  const hasKid = header.kid !== undefined;
  if (hasJwk === hasKid) throw malformed("the protected header needs exactly one of jwk and kid");
  if (options.keyFrom === "jwk" && !hasJwk) throw malformed("this request must carry a jwk");
  if (options.keyFrom === "kid" && !hasKid) throw malformed("this request must carry a kid");
  if (header.url !== options.url) {
    throw new AcmeProblem("unauthorized", "the JWS url is not the URL of this request", 401);
  }
  checkNonceForm(header.nonce);
  if (!(await store.spendNonce(header.nonce, options.now))) {
    throw new AcmeProblem("badNonce", "the nonce was used already, expired or never issued");
  }
  let key: AccountKey;
  let account: AccountRow | undefined;
  if (hasJwk) {
    key = keyOfJwk(header.jwk);
  } else {
    const kid = String(header.kid);
    const id = kid.startsWith(options.accountUrlPrefix)
      ? kid.slice(options.accountUrlPrefix.length)
      : "";
    account = isUuid(id) ? await store.account(id) : undefined;
    // The kid is the account URL as certmint made it (RFC 8555 7.3), ids in lower case: the
    // uuid column matched an upper-case spelling too (until stop 51 of 2026-12-07: ACME F9).
    if (!account || account.id !== id || account.profile_id !== options.profileId) {
      throw new AcmeProblem("accountDoesNotExist", "no account at this kid", 400);
    }
    if (account.status !== "valid") {
      throw new AcmeProblem("unauthorized", `the account is ${account.status}`, 401);
    }
    key = keyOfJwk(account.jwk);
  }
  checkAlgFitsKey(header.alg, key);
  const signature = decodeB64url(jws.signature, "signature");
  if (!verifyJwsSignature(key, header.alg, `${jws.protected}.${jws.payload}`, signature)) {
    throw malformed("the JWS signature does not verify with the account key");
  }
  const payload =
    jws.payload === "" ? undefined : parseJson(decodeB64url(jws.payload, "payload"), "payload");
  // Every ACME request body is a JSON object (RFC 8555 7); null or an array is malformed, not a
  // TypeError in a handler (a 500 logged as an internal error).
  if (
    payload !== undefined &&
    (typeof payload !== "object" || payload === null || Array.isArray(payload))
  ) {
    throw malformed("the payload must be a JSON object");
  }
  return { header, payload, key, account, jws };
}
