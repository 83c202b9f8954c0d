/**
 * Probe 53 (LOADACME): an ACME client that behaves as a controller's (cert-manager's
 * golang.org/x/crypto/acme) does at volume, over the in-repo JWS client (test/acme/jws-client.ts):
 * nonces taken from each answer's Replay-Nonce (RFC 8555 6.5) and fetched with HEAD only when
 * none is left; a `badNonce` retried at once with the fresh nonce; a 429 or 503 retried after
 * its Retry-After (RFC 8555 6.6; x/crypto/acme retries both); polls every Retry-After (else 1 s).
 * Every refusal it retried is recorded, so a test can check each carried Retry-After.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AcmeTestClient, HttpResult } from "../../acme/jws-client";
import { publicJwk, thumbprint } from "../../acme/jws-client";
import { csrDer } from "../../probe51/acme/live-acme";

export interface Refusal {
  method: string;
  url: string;
  status: number;
  type?: string;
  retryAfter?: string;
  detail?: string;
}

/** More retries of one request than this is an error the client cannot get past. */
const MAX_ATTEMPTS = 120;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry-After in ms (delta-seconds or an HTTP date, RFC 9110 10.2.3); undefined if absent. */
export function retryAfterMs(r: HttpResult): number | undefined {
  const v = r.headers["retry-after"];
  if (typeof v !== "string") return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export class FleetClient {
  readonly refusals: Refusal[] = [];
  private readonly nonces: string[] = [];
  /** Key authorizations the test's http-01 responder serves, by token. */
  constructor(
    readonly c: AcmeTestClient,
    readonly keyAuths: Map<string, string>,
  ) {}

  private record(method: string, url: string, r: HttpResult): void {
    const rec: Refusal = { method, url, status: r.status };
    if (r.json.type !== undefined) rec.type = r.json.type;
    if (typeof r.headers["retry-after"] === "string") rec.retryAfter = r.headers["retry-after"];
    if (r.json.detail !== undefined) rec.detail = r.json.detail;
    this.refusals.push(rec);
  }

  private async nonce(): Promise<string> {
    const pooled = this.nonces.pop();
    if (pooled) return pooled;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const r = await this.c.http("HEAD", this.c.dir.newNonce!);
      const n = r.headers["replay-nonce"];
      if (typeof n === "string" && r.status < 300) return n;
      this.record("HEAD", this.c.dir.newNonce!, r);
      if (r.status !== 429 && r.status !== 503) throw new Error(`new-nonce answered ${r.status}`);
      await pause(retryAfterMs(r) ?? 1000);
    }
    throw new Error("new-nonce: too many retries");
  }

  /** A GET (directory, renewal-info), retried as x/crypto/acme does. */
  async get(url: string): Promise<HttpResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const r = await this.c.http("GET", url);
      if (r.status !== 429 && r.status !== 503) return r;
      this.record("GET", url, r);
      await pause(retryAfterMs(r) ?? 1000);
    }
    throw new Error(`GET ${url}: too many retries`);
  }

  /** A signed POST, retried on badNonce, 429 and 503 as x/crypto/acme does. */
  async post(url: string, payload: unknown | ""): Promise<HttpResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const body = await this.c.jws(url, payload, { nonce: await this.nonce() });
      const r = await this.c.http("POST", url, body);
      const n = r.headers["replay-nonce"];
      if (typeof n === "string") this.nonces.push(n);
      const badNonce = r.status === 400 && r.json.type === "urn:ietf:params:acme:error:badNonce";
      if (!badNonce && r.status !== 429 && r.status !== 503) return r;
      this.record("POST", url, r);
      if (!badNonce) await pause(retryAfterMs(r) ?? 1000);
    }
    throw new Error(`POST ${url}: too many retries`);
  }

  async register(): Promise<void> {
    await this.c.directory();
    const r = await this.post(this.c.dir.newAccount!, { termsOfServiceAgreed: true });
    if (r.status !== 201) throw new Error(`newAccount: ${r.status} ${r.text}`);
    this.c.kid = r.headers.location as string;
  }

  /** Polls `url` (POST-as-GET) every Retry-After (else 1 s) until its status is one of `until`. */
  async poll(url: string, until: string[]): Promise<HttpResult> {
    for (;;) {
      const r = await this.post(url, "");
      if (r.status !== 200) throw new Error(`poll ${url}: ${r.status} ${r.text}`);
      if (until.includes(r.json.status as string)) return r;
      await pause(retryAfterMs(r) ?? 1000);
    }
  }

  /**
   * One certificate, as a controller gets it: newOrder (naming `replaces` if given), each
   * authorization's http-01 answered and started, the order polled to ready, finalize with a
   * fresh key's CSR, polled to valid, the chain downloaded. Throws on any answer the protocol
   * gives the client no way past.
   */
  async certificate(names: string[], replaces?: string): Promise<{ pem: string; order: string }> {
    const newOrder = await this.post(this.c.dir.newOrder!, {
      identifiers: names.map((value) => ({ type: "dns", value })),
      ...(replaces ? { replaces } : {}),
    });
    if (newOrder.status !== 201) throw new Error(`newOrder: ${newOrder.status} ${newOrder.text}`);
    const orderUrl = newOrder.headers.location as string;
    const thumb = thumbprint(publicJwk(this.c.key.publicKey));
    for (const authzUrl of newOrder.json.authorizations as string[]) {
      const authz = await this.post(authzUrl, "");
      if (authz.status !== 200) throw new Error(`authz: ${authz.status} ${authz.text}`);
      if (authz.json.status === "valid") continue;
      const ch = (
        authz.json.challenges as Array<{ type: string; url: string; token: string }>
      ).find((x) => x.type === "http-01")!;
      this.keyAuths.set(ch.token, `${ch.token}.${thumb}`);
      const started = await this.post(ch.url, {});
      if (started.status !== 200) throw new Error(`challenge: ${started.status} ${started.text}`);
    }
    for (const authzUrl of newOrder.json.authorizations as string[]) {
      const a = await this.poll(authzUrl, [
        "valid",
        "invalid",
        "deactivated",
        "expired",
        "revoked",
      ]);
      if (a.json.status !== "valid") throw new Error(`authorization ${a.json.status}: ${a.text}`);
    }
    const ready = await this.poll(orderUrl, ["ready", "invalid", "valid"]);
    if (ready.json.status !== "ready") throw new Error(`order ${ready.json.status}: ${ready.text}`);
    const csr = csrDer(
      `/CN=${names[0]}`,
      names.map((n) => `DNS:${n}`),
    ).der;
    const fin = await this.post(newOrder.json.finalize as string, {
      csr: csr.toString("base64url"),
    });
    if (fin.status !== 200) throw new Error(`finalize: ${fin.status} ${fin.text}`);
    const done = await this.poll(orderUrl, ["valid", "invalid"]);
    if (done.json.status !== "valid") throw new Error(`order ${done.json.status}: ${done.text}`);
    const cert = await this.post(done.json.certificate as string, "");
    if (cert.status !== 200) throw new Error(`certificate: ${cert.status} ${cert.text}`);
    return { pem: cert.text, order: orderUrl };
  }
}

/** The AKI keyIdentifier of a certificate (RFC 9773 4.1's first part), read by openssl. */
export function akiOf(pem: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "certmint-probe53-aki-"));
  try {
    const file = join(dir, "leaf.pem");
    writeFileSync(file, pem);
    const text = execFileSync(
      "openssl",
      ["x509", "-in", file, "-noout", "-ext", "authorityKeyIdentifier"],
      { encoding: "utf8" },
    );
    return Buffer.from(/([0-9A-F]{2}(?::[0-9A-F]{2})+)/.exec(text)![1]!.replace(/:/g, ""), "hex");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** RFC 9773 4.1: base64url(AKI keyIdentifier) "." base64url(serial number DER octets). */
export function certIdOf(aki: Buffer, serialHex: string): string {
  let serial = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, "hex");
  if (serial[0]! >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${aki.toString("base64url")}.${serial.toString("base64url")}`;
}

/** Runs `work` over `items` with at most `width` at once; collects each error by index. */
export async function eachAtOnce<T, R>(
  items: T[],
  width: number,
  work: (item: T, i: number) => Promise<R>,
): Promise<Array<{ ok: R } | { error: string }>> {
  const out: Array<{ ok: R } | { error: string }> = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        try {
          out[i] = { ok: await work(items[i]!, i) };
        } catch (e) {
          out[i] = { error: `${i}: ${(e as Error).message}` };
        }
      }
    }),
  );
  return out;
}
