/**
 * Probe 51 (ACME): newOrder's `replaces` (RFC 9773 5) against the compiled server. A
 * certificate is replaced by one order only ("alreadyReplaced", 409, MUST): whichever way its
 * certID is spelled, and when two orders ask at once. It names a certificate of this account,
 * sharing an identifier with the order (SHOULD). test/acme/lego.test.ts covers the happy path.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AcmeTestClient } from "../../acme/jws-client";
import { START_LIMIT_MS } from "../../support/server-process";
import { csrDer, ERR, issued, type LiveAcme, readyOrder, startLiveAcme } from "./live-acme";

/** RFC 9773 4.1: base64url(AKI keyIdentifier) "." base64url(serial number octets). */
function certIdOf(pem: string): { aki: Buffer; serial: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "certmint-probe51-ari-"));
  try {
    const file = join(dir, "leaf.pem");
    writeFileSync(file, pem);
    const text = execFileSync(
      "openssl",
      ["x509", "-in", file, "-noout", "-ext", "authorityKeyIdentifier", "-serial"],
      {
        encoding: "utf8",
      },
    );
    const aki = Buffer.from(
      /([0-9A-F]{2}(?::[0-9A-F]{2})+)/.exec(text)![1]!.replace(/:/g, ""),
      "hex",
    );
    const hex = /serial=([0-9A-F]+)/.exec(text)![1]!;
    let serial = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
    if (serial[0]! >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
    return { aki, serial };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same bytes in another base64url spelling: the last character's unused low bits set
 * (a decoder ignores them, RFC 4648 3.5 says a decoder MAY reject them).
 */
function otherSpelling(bytes: Buffer): string {
  const canonical = bytes.toString("base64url");
  const unused = { 1: 4, 2: 2 }[(bytes.length % 3) as 1 | 2];
  if (!unused) throw new Error("no unused bits: pick bytes whose length is not a multiple of 3");
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(canonical.at(-1)!);
  const spelled = `${canonical.slice(0, -1)}${alphabet[last | 1]}`;
  expect(Buffer.from(spelled, "base64url").equals(bytes)).toBe(true);
  expect(spelled).not.toBe(canonical);
  return spelled;
}

describe("probe 51: ACME replaces (RFC 9773)", () => {
  let live: LiveAcme;
  let c: AcmeTestClient;
  beforeAll(async () => {
    live = await startLiveAcme();
    c = live.client("open-acme");
    expect((await c.register()).status).toBe(201);
  }, 2 * START_LIMIT_MS);
  afterAll(async () => {
    if (process.env.PROBE51_DUMP) console.log(live?.server.output().slice(-6000));
    await live?.stop();
  });

  /** A certificate of `owner` for `name`, and its certID parts. */
  const certificateOf = async (owner: AcmeTestClient, name: string) => {
    const o = await readyOrder(live, owner, [{ type: "dns", value: name }]);
    const { pem } = await issued(owner, o, csrDer(`/CN=${name}`, [`DNS:${name}`]).der);
    return certIdOf(pem);
  };
  const replacing = (owner: AcmeTestClient, name: string, replaces: string) =>
    owner.post(owner.dir.newOrder!, { identifiers: [{ type: "dns", value: name }], replaces });
  const ordersReplacing = async () =>
    Number(
      (
        await live.db.query<{ n: string }>(
          "select count(*) as n from acme_order where replaces is not null",
        )
      )[0]!.n,
    );

  it("a certificate replaced once is alreadyReplaced (409) for its certID in another base64url spelling", async () => {
    const id = await certificateOf(c, "spelled.probe.localhost");
    const canonical = `${id.aki.toString("base64url")}.${id.serial.toString("base64url")}`;
    const first = await replacing(c, "spelled.probe.localhost", canonical);
    expect(first.status, first.text).toBe(201);
    const before = await ordersReplacing();
    const part = id.aki.length % 3 !== 0 ? "aki" : "serial";
    const alternate =
      part === "aki"
        ? `${otherSpelling(id.aki)}.${id.serial.toString("base64url")}`
        : `${id.aki.toString("base64url")}.${otherSpelling(id.serial)}`;
    const second = await replacing(c, "spelled.probe.localhost", alternate);
    expect([second.status, second.json.type], second.text).toEqual([409, `${ERR}alreadyReplaced`]);
    expect(await ordersReplacing()).toBe(before);
  });

  it("two orders replacing one certificate at once: one is stored, the other is alreadyReplaced", async () => {
    const id = await certificateOf(c, "twice.probe.localhost");
    const certId = `${id.aki.toString("base64url")}.${id.serial.toString("base64url")}`;
    const before = await ordersReplacing();
    const answers = await Promise.all(
      [0, 1, 2].map(() => replacing(c, "twice.probe.localhost", certId)),
    );
    expect(answers.map((r) => r.status).sort(), answers.map((r) => r.text).join("\n")).toEqual([
      201, 409, 409,
    ]);
    expect(await ordersReplacing()).toBe(before + 1);
  });

  it("replaces of another account's certificate is refused, and stores nothing", async () => {
    const other = live.client("open-acme");
    expect((await other.register()).status).toBe(201);
    const id = await certificateOf(other, "theirs.probe.localhost");
    const before = await ordersReplacing();
    const r = await replacing(
      c,
      "theirs.probe.localhost",
      `${id.aki.toString("base64url")}.${id.serial.toString("base64url")}`,
    );
    expect(r.status, r.text).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(await ordersReplacing()).toBe(before);
  });

  it("an order sharing no identifier with the certificate it names does not replace it (RFC 9773 5 SHOULD)", async () => {
    const id = await certificateOf(c, "kept.probe.localhost");
    const certId = `${id.aki.toString("base64url")}.${id.serial.toString("base64url")}`;
    const unrelated = await replacing(c, "unrelated.probe.localhost", certId);
    expect(unrelated.status, unrelated.text).toBe(400);
    // And so the real renewal is not blocked as alreadyReplaced.
    const renewal = await replacing(c, "kept.probe.localhost", certId);
    expect(renewal.status, renewal.text).toBe(201);
  });

  it("an order that replaced a certificate and then expired, unpolled, no longer blocks its renewal (RFC 8555 7.1.6: an expired order is invalid)", async () => {
    const id = await certificateOf(c, "abandoned.probe.localhost");
    const certId = `${id.aki.toString("base64url")}.${id.serial.toString("base64url")}`;
    const abandoned = await replacing(c, "abandoned.probe.localhost", certId);
    expect(abandoned.status, abandoned.text).toBe(201);
    // Its client went away; its lifetime passes (moved back here, not waited for).
    await live.db.query(
      "update acme_order set expires_at = now() - interval '1 minute' where id = $1",
      [(abandoned.headers.location as string).split("/").at(-1)],
    );
    const renewal = await replacing(c, "abandoned.probe.localhost", certId);
    expect(renewal.status, renewal.text).toBe(201);
  });

  it("an order that replaced a certificate and whose authorization was deactivated no longer blocks its renewal", async () => {
    const id = await certificateOf(c, "relinquished.probe.localhost");
    const certId = `${id.aki.toString("base64url")}.${id.serial.toString("base64url")}`;
    const first = await replacing(c, "relinquished.probe.localhost", certId);
    expect(first.status, first.text).toBe(201);
    const authz = (first.json.authorizations as string[])[0]!;
    expect((await c.post(authz, { status: "deactivated" })).json.status).toBe("deactivated");
    const renewal = await replacing(c, "relinquished.probe.localhost", certId);
    expect(renewal.status, renewal.text).toBe(201);
  });
});
