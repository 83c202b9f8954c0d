import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { AcmeProblem } from "../problem";
import type { ValidationTargets } from "./targets";

/** Bounds of one http-01 validation (issue 16, security). */
export interface Http01Limits {
  /** The port the challenge is fetched from (RFC 8555 8.3: 80; tests use another). */
  port: number;
  /** Redirects followed (Let's Encrypt follows up to 10). */
  maxRedirects: number;
  /** Bytes of the response body read; a key authorization is under 200 bytes. */
  maxBodyBytes: number;
  /** The whole validation, every redirect included. */
  timeoutMs: number;
}

export const DEFAULT_HTTP01_LIMITS: Http01Limits = {
  port: 80,
  maxRedirects: 10,
  maxBodyBytes: 8 * 1024,
  timeoutMs: 10_000,
};

/**
 * http-01 (RFC 8555 8.3): GET http://<identifier>/.well-known/acme-challenge/<token> must
 * answer 200 with the key authorization (trailing whitespace ignored). Redirects are
 * followed to http on the challenge port or https on 443, each target's address checked
 * again (targets.ts); the certificate of an https redirect target is not checked (as Let's
 * Encrypt does: the key authorization is what proves control).
 */
export async function validateHttp01(
  targets: ValidationTargets,
  identifier: string,
  token: string,
  keyAuthorization: string,
  limits: Http01Limits,
): Promise<void> {
  // On the monotonic clock (performance.now()): a wall clock stepped forward mid-validation (NTP)
  // timed it out at once, and the challenge became invalid for good (RFC 8555 7.5.1).
  const deadline = performance.now() + limits.timeoutMs;
  const host = isIP(identifier) === 6 ? `[${identifier}]` : identifier;
  let url = new URL(`http://${host}:${limits.port}/.well-known/acme-challenge/${token}`);
  for (let hop = 0; ; hop++) {
    const response = await fetchOnce(targets, url, deadline, limits.maxBodyBytes);
    if (response.redirect) {
      if (hop >= limits.maxRedirects) {
        throw new AcmeProblem("connection", `more than ${limits.maxRedirects} redirects`);
      }
      let next: URL;
      try {
        next = new URL(response.redirect, url);
      } catch {
        throw new AcmeProblem("connection", "a redirect to an invalid URL");
      }
      const port = Number(next.port || (next.protocol === "https:" ? 443 : 80));
      const allowed =
        (next.protocol === "http:" && port === limits.port) ||
        (next.protocol === "https:" && port === 443);
      if (!allowed) {
        throw new AcmeProblem(
          "connection",
          `redirect to ${next.protocol}//…:${port}: only http on port ${limits.port} or https on 443 is followed`,
        );
      }
      url = next;
      continue;
    }
    if (response.status !== 200) {
      throw new AcmeProblem(
        "unauthorized",
        `http-01: ${url.pathname} answered HTTP ${response.status}, not 200`,
        403,
      );
    }
    // RFC 8555 8.3: the server SHOULD ignore whitespace at the end of the body; at its start
    // it is not the key authorization (until 2026-12-05 trim() accepted " " + keyAuth).
    if (withoutTrailingWhitespace(response.body) !== keyAuthorization) {
      throw new AcmeProblem(
        "incorrectResponse",
        "http-01: the response is not the key authorization of this challenge",
        403,
      );
    }
    return;
  }
}

/** `text` without its trailing spaces, tabs and line breaks (a loop: no regex backtracking). */
function withoutTrailingWhitespace(text: string): string {
  let end = text.length;
  while (end > 0 && " \t\r\n".includes(text[end - 1]!)) end--;
  return text.slice(0, end);
}

interface FetchResult {
  status: number;
  redirect?: string;
  body: string;
}

async function fetchOnce(
  targets: ValidationTargets,
  url: URL,
  deadline: number,
  maxBodyBytes: number,
): Promise<FetchResult> {
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const [address] = await targets.addressesOf(hostname);
  const remaining = deadline - performance.now();
  if (remaining <= 0) throw new AcmeProblem("connection", "http-01: timed out");
  const https = url.protocol === "https:";
  return new Promise<FetchResult>((resolve, reject) => {
    const fail = (detail: string) => reject(new AcmeProblem("connection", `http-01: ${detail}`));
    const req = (https ? httpsRequest : httpRequest)(
      {
        host: address,
        port: url.port || (https ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: "GET",
        headers: { host: url.host, "user-agent": "certmint-acme-validator", accept: "*/*" },
        // The checked address is connected to; the name only goes into Host and SNI.
        ...(https
          ? { servername: isIP(hostname) ? undefined : hostname, rejectUnauthorized: false }
          : {}),
        timeout: remaining,
        agent: false,
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          resolve({ status, redirect: res.headers.location, body: "" });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) {
            req.destroy();
            fail(`the response is larger than ${maxBodyBytes} bytes`);
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => resolve({ status, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", () => fail("the response was cut off"));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      fail("timed out");
    }, remaining);
    req.on("close", () => clearTimeout(timer));
    req.on("timeout", () => {
      req.destroy();
      fail("timed out");
    });
    req.on("error", (err: NodeJS.ErrnoException) =>
      fail(`cannot connect to ${url.host} (${err.code ?? "error"})`),
    );
    req.end();
  });
}
