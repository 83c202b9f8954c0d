/**
 * `cert issue` and `cert renew` whose answer is lost after the call was sent (a proxy drops the
 * server's bytes: answer-proxy.ts): the server signs, the CLI hears nothing. The CLI says which
 * --request-id gets that certificate and its key back, and the repetition with it returns the
 * same certificate (the same successor, for a renewal), never a second one; a connection
 * dropped (UNAVAILABLE) is retried by the CLI itself with the same request id. Until stop 40 of
 * 2026-12-05 (an outside probe) the request id was not printed: the obvious rerun issued a
 * second certificate, or, for a renewal, was refused as already renewed and the successor's key
 * was never delivered.
 */
import { createPrivateKey, createPublicKey, randomUUID, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCertmint, type TestCertmint } from "../support/harness";
import { waitFor } from "../support/wait";
import { type AnswerProxy, startAnswerProxy } from "./answer-proxy";
import { type CliSession, cliSession, modeOf, ok, runCli } from "./cli";

interface IssueJson {
  certificate: { certificateId: string; serialNumber: string };
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

describe("certmint cert issue / renew: an answer lost after the call was sent", () => {
  let h: TestCertmint;
  let cli: CliSession;
  const proxies: AnswerProxy[] = [];
  const file = (name: string) => join(cli.dir, name);
  /** The CLI in the session's directory, through a proxy that loses the answer to call `n`. */
  const throughProxy = async (n: number, args: readonly string[]) => {
    const proxy = await startAnswerProxy(h.address, n);
    proxies.push(proxy);
    const run = runCli(["--server", proxy.address, "--data-dir", h.dataDir, ...args], {
      cwd: cli.dir,
    });
    return { proxy, run };
  };
  const requestRow = async (requestId: string) =>
    (
      await h.db.query<{ status: string; certificate_id: string | null }>(
        "select status, certificate_id from certificate_request where request_id = $1",
        [requestId],
      )
    )[0];
  const serialOf = async (certificateId: string) =>
    (
      await h.db.query<{ serial_number: string }>(
        "select serial_number from certificate where id = $1",
        [certificateId],
      )
    )[0]!.serial_number;
  const certificatesNamed = async (name: string) =>
    Number(
      (
        await h.db.query<{ n: string }>(
          "select count(*) as n from certificate where sans::text like $1",
          [`%${name}%`],
        )
      )[0]!.n,
    );
  const fileSerial = (name: string) =>
    new X509Certificate(readFileSync(file(name))).serialNumber.toLowerCase();
  /** Whether the key file holds the private key of the certificate file. */
  const keyMatches = (keyFile: string, certFile: string) =>
    createPublicKey(createPrivateKey(readFileSync(file(keyFile))))
      .export({ type: "spki", format: "der" })
      .equals(
        new X509Certificate(readFileSync(file(certFile))).publicKey.export({
          type: "spki",
          format: "der",
        }),
      );

  beforeAll(async () => {
    h = await startTestCertmint();
    cli = cliSession(h.address, h.dataDir);
    ok(await cli.run(["ca", "create-root", "root", "--cn", "Lost Answer Root"]));
    ok(
      await cli.run([
        "profile",
        "create",
        "web",
        "--ca",
        "root",
        "--ttl",
        "7d",
        "--preset",
        "tls-server",
        "--allow-dns",
        "**.example.com",
      ]),
    );
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    cli?.remove();
    await h?.stop();
  });

  it("issue: the deadline passes; the request id is printed, and repeating with it returns the same certificate and key", async () => {
    const { proxy, run } = await throughProxy(1, [
      "cert",
      "issue",
      "--profile",
      "web",
      "--dns",
      "lost.example.com",
      "--timeout",
      "5s",
    ]);
    const r = await run;
    expect(proxy.sent()).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: DEADLINE_EXCEEDED: /);
    const requestId = new RegExp(`repeat the same command with --request-id (${UUID})`).exec(
      r.stderr,
    )?.[1];
    expect(requestId, r.stderr).toBeDefined();
    expect(r.stderr).toContain(`certmint may have signed it (request id ${requestId})`);
    expect(r.stderr).toContain("Without --request-id, a second certificate is issued");
    expect(existsSync(file("lost.example.com.key"))).toBe(false);
    expect(existsSync(file("lost.example.com.crt"))).toBe(false);
    // The server did sign: the request the printed id names holds the certificate.
    await waitFor("the lost call's certificate", async () => {
      return (await requestRow(requestId!))?.status === "ISSUED";
    });
    const signed = await serialOf((await requestRow(requestId!))!.certificate_id!);

    const again = JSON.parse(
      ok(
        await cli.run([
          "cert",
          "issue",
          "--profile",
          "web",
          "--dns",
          "lost.example.com",
          "--request-id",
          requestId!,
          "-o",
          "json",
        ]),
      ).stdout,
    ) as IssueJson;
    expect(again.certificate.serialNumber).toBe(signed);
    expect(fileSerial("lost.example.com.crt")).toBe(signed);
    expect(modeOf(file("lost.example.com.key"))).toBe(0o600);
    expect(keyMatches("lost.example.com.key", "lost.example.com.crt")).toBe(true);
    expect(await certificatesNamed("lost.example.com")).toBe(1);
  });

  it("renew: the deadline passes; repeating with the printed request id returns the same successor and its key", async () => {
    const original = await cli.json<IssueJson>([
      "cert",
      "issue",
      "--profile",
      "web",
      "--dns",
      "renew-lost.example.com",
    ]);
    const id = original.certificate.certificateId;
    // Call 1 reads the certificate (the file names), call 2 renews it.
    const { proxy, run } = await throughProxy(2, [
      "cert",
      "renew",
      id,
      "--force",
      "--timeout",
      "5s",
    ]);
    const r = await run;
    expect(proxy.sent()).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: DEADLINE_EXCEEDED: /);
    const requestId = new RegExp(`repeat the same command with --request-id (${UUID})`).exec(
      r.stderr,
    )?.[1];
    expect(requestId, r.stderr).toBeDefined();
    expect(r.stderr).toContain(
      `Without --request-id, the renewal is refused: ${id} is renewed already`,
    );
    // Nothing was written: the files are the original's.
    expect(fileSerial("renew-lost.example.com.crt")).toBe(original.certificate.serialNumber);
    await waitFor("the lost renewal's successor", async () => {
      return (await requestRow(requestId!))?.status === "ISSUED";
    });
    const successor = await serialOf((await requestRow(requestId!))!.certificate_id!);

    // What the hint warns of: the same command without the request id is refused.
    const plain = await cli.run(["cert", "renew", id, "--force"]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^certmint: FAILED_PRECONDITION: /);

    const again = JSON.parse(
      ok(await cli.run(["cert", "renew", id, "--force", "--request-id", requestId!, "-o", "json"]))
        .stdout,
    ) as IssueJson;
    expect(again.certificate.serialNumber).toBe(successor);
    expect(fileSerial("renew-lost.example.com.crt")).toBe(successor);
    expect(keyMatches("renew-lost.example.com.key", "renew-lost.example.com.crt")).toBe(true);
    expect(modeOf(file("renew-lost.example.com.key"))).toBe(0o600);
    expect(
      Number(
        (
          await h.db.query<{ n: string }>(
            "select count(*) as n from certificate where renewed_from_id = $1",
            [id],
          )
        )[0]!.n,
      ),
    ).toBe(1);
    expect(await certificatesNamed("renew-lost.example.com")).toBe(2);
  });

  it("a connection dropped after the call was sent is retried with the same request id: one certificate, its files written", async () => {
    const requestId = randomUUID();
    const { proxy, run } = await throughProxy(1, [
      "cert",
      "issue",
      "--profile",
      "web",
      "--dns",
      "dropped.example.com",
      "--request-id",
      requestId,
    ]);
    await waitFor("the call to reach the server and be signed", async () => {
      return proxy.sent() && (await requestRow(requestId))?.status === "ISSUED";
    });
    proxy.cut();
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`sending the request again with request id ${requestId}`);
    const signed = await serialOf((await requestRow(requestId))!.certificate_id!);
    expect(fileSerial("dropped.example.com.crt")).toBe(signed);
    expect(keyMatches("dropped.example.com.key", "dropped.example.com.crt")).toBe(true);
    expect(await certificatesNamed("dropped.example.com")).toBe(1);
  });

  it("nothing listening: the call was never sent, so neither a retry nor a request id to recover", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const r = await runCli(
      [
        "--server",
        `127.0.0.1:${port}`,
        "--data-dir",
        h.dataDir,
        "cert",
        "issue",
        "--profile",
        "web",
        "--dns",
        "nowhere.example.com",
      ],
      { cwd: cli.dir },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^certmint: UNAVAILABLE: /);
    expect(r.stderr).toContain("is it running (make run)?");
    expect(r.stderr).not.toContain("request id");
    expect(r.stderr).not.toContain("sending the request again");
  });
});
