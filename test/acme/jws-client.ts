import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { type Agent, request } from "node:https";

/**
 * A minimal ACME client written from RFC 8555 for the tests that must send what a real
 * client never would (a replayed nonce, a wrong url, a forged signature, an oversized body).
 * Real-client behaviour is proven by lego and certbot; this one is for attacks.
 */

export type KeyKind = "ES256" | "ES384" | "RS256" | "EdDSA";

export function accountKey(kind: KeyKind): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (kind) {
    case "ES256":
      return generateKeyPairSync("ec", { namedCurve: "P-256" });
    case "ES384":
      return generateKeyPairSync("ec", { namedCurve: "P-384" });
    case "RS256":
      return generateKeyPairSync("rsa", { modulusLength: 2048 });
    case "EdDSA":
      return generateKeyPairSync("ed25519");
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown> & { type?: string; detail?: string };
}

export const b64u = (data: Buffer | string) => Buffer.from(data).toString("base64url");

export function publicJwk(key: KeyObject): Record<string, string> {
  const jwk = key.export({ format: "jwk" }) as Record<string, string>;
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
}

export function thumbprint(jwk: Record<string, string>): string {
  const ordered = Object.keys(jwk)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(jwk[k])}`)
    .join(",");
  return createHash("sha256").update(`{${ordered}}`).digest("base64url");
}

/** A JWS signature in RFC 7518 form (ECDSA as R || S). */
export function jwsSign(kind: KeyKind, key: KeyObject, input: string): Buffer {
  const data = Buffer.from(input);
  switch (kind) {
    case "ES256":
      return sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
    case "ES384":
      return sign("sha384", data, { key, dsaEncoding: "ieee-p1363" });
    case "RS256":
      return sign("sha256", data, key);
    case "EdDSA":
      return sign(null, data, key);
  }
}

export class AcmeTestClient {
  readonly key: { privateKey: KeyObject; publicKey: KeyObject };
  kid?: string;
  dir: Record<string, string> = {};
  /** false: every request on a connection of its own (a supervisor hands out connections). */
  agent?: Agent | false;
  /** The address requests come from (any of 127.0.0.0/8 is loopback on Linux). */
  localAddress?: string;
  private readonly ca: Buffer;

  constructor(
    readonly directoryUrl: string,
    caFile: string,
    readonly kind: KeyKind = "ES256",
    key?: { privateKey: KeyObject; publicKey: KeyObject },
  ) {
    this.key = key ?? accountKey(kind);
    this.ca = readFileSync(caFile);
  }

  http(
    method: string,
    url: string,
    body?: string,
    type = "application/jose+json",
  ): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.ca,
          agent: this.agent,
          ...(this.localAddress === undefined ? {} : { localAddress: this.localAddress }),
          headers: body === undefined ? {} : { "content-type": type },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            let json = {};
            try {
              json = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  async directory(): Promise<Record<string, string>> {
    this.dir = (await this.http("GET", this.directoryUrl)).json as Record<string, string>;
    return this.dir;
  }

  async nonce(): Promise<string> {
    if (!this.dir.newNonce) await this.directory();
    const r = await this.http("HEAD", this.dir.newNonce!);
    return r.headers["replay-nonce"] as string;
  }

  /** The JWS body of a request, signed with this client's key (or the given overrides). */
  async jws(
    url: string,
    payload: unknown | "",
    opts: {
      nonce?: string;
      useJwk?: boolean;
      alg?: string;
      headerUrl?: string;
      signWith?: { kind: KeyKind; privateKey: KeyObject; publicKey: KeyObject };
    } = {},
  ): Promise<string> {
    const signer = opts.signWith ?? { kind: this.kind, ...this.key };
    const header: Record<string, unknown> = {
      alg: opts.alg ?? signer.kind,
      nonce: opts.nonce ?? (await this.nonce()),
      url: opts.headerUrl ?? url,
    };
    if (opts.useJwk || !this.kid) header.jwk = publicJwk(signer.publicKey);
    else header.kid = this.kid;
    const protectedB64 = b64u(JSON.stringify(header));
    const payloadB64 = payload === "" ? "" : b64u(JSON.stringify(payload));
    const signature = jwsSign(signer.kind, signer.privateKey, `${protectedB64}.${payloadB64}`);
    return JSON.stringify({
      protected: protectedB64,
      payload: payloadB64,
      signature: b64u(signature),
    });
  }

  async post(url: string, payload: unknown | "", opts: Parameters<AcmeTestClient["jws"]>[2] = {}) {
    return this.http("POST", url, await this.jws(url, payload, opts));
  }

  async register(extra: Record<string, unknown> = {}): Promise<HttpResult> {
    if (!this.dir.newAccount) await this.directory();
    const r = await this.post(
      this.dir.newAccount!,
      { termsOfServiceAgreed: true, ...extra },
      { useJwk: true },
    );
    if (r.status === 201 || r.status === 200) this.kid = r.headers.location as string;
    return r;
  }

  async newOrder(names: string[]): Promise<HttpResult> {
    return this.post(this.dir.newOrder!, {
      identifiers: names.map((value) => ({ type: "dns", value })),
    });
  }
}
