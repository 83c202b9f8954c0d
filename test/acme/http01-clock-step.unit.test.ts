/**
 * An http-01 validation's time bound is a duration (the monotonic clock): a wall clock stepped
 * forward while it runs (NTP correcting a clock that ran behind) does not time it out, which
 * made the challenge invalid for good (RFC 8555 7.5.1) although the client answered.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { validateHttp01 } from "../../src/acme/validation/http01";
import type { ValidationTargets } from "../../src/acme/validation/targets";

describe("http-01 across a wall clock step", () => {
  let server: Server | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  it("succeeds when the wall clock steps forward an hour during the validation", async () => {
    const keyAuthorization = "token-1.thumbprint";
    server = createServer((req, res) => {
      res.end(req.url === "/.well-known/acme-challenge/token-1" ? keyAuthorization : "no");
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const realNow = Date.now.bind(Date);
    let offsetMs = 0;
    vi.spyOn(Date, "now").mockImplementation(() => realNow() + offsetMs);
    // The step happens while the name is resolved, before the challenge is fetched.
    const targets = {
      addressesOf: async () => {
        offsetMs = 3_600_000;
        return ["127.0.0.1"];
      },
    } as unknown as ValidationTargets;
    await expect(
      validateHttp01(targets, "127.0.0.1", "token-1", keyAuthorization, {
        port,
        maxRedirects: 0,
        maxBodyBytes: 8192,
        timeoutMs: 30_000,
      }),
    ).resolves.toBeUndefined();
  });
});
