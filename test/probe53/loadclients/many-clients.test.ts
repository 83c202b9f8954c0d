/**
 * LOADCLIENTS probe (stop 53): many legitimate clients behind one address (everything here comes
 * from 127.0.0.1, as a fleet behind a NAT, a node's pods or one load balancer would): 200
 * channels of their own, 300 watch streams of three services' tokens, a load balancer's health
 * checks at 20 a second on a new connection each (Kubernetes' gRPC probe dials every time), and
 * grpcurl with reflection run 30 times in a row. None may be refused by the per-address limits
 * (a quarter of CERTMINT_MAX_CONNECTIONS, 250 connections; a quarter of CERTMINT_MAX_OPEN_CALLS,
 * 2,500 calls; 100 credential-free calls a second, bursts of 1,000).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ChannelOptions, credentials } from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import { CreateAccessTokenRequest, Role } from "../../../gen/ts/certmint/v1/access_token_service";
import type { CertificateServiceClient } from "../../../gen/ts/certmint/v1/certificate_service";
import { call } from "../../support/harness";
import { DUE_PROFILE } from "../../support/renewal-due";
import { ROOT } from "../../support/server-process";
import { HealthClientWithOptions } from "../../tls/pki";
import { liveLoadSuite } from "./live-load";
import { client, firstMessages, get, Tally } from "./ts/load";

/** A connection of its own (grpc-js otherwise shares one per address and options). */
const OWN: ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };

/** Established TCP connections to `port` seen by the kernel (both ends are on this host). */
function establishedTo(port: number): number {
  const out = execFileSync("ss", ["-Htn", "state", "established", `( dport = :${port} )`], {
    encoding: "utf8",
  });
  return out.split("\n").filter((l) => l.trim()).length;
}

describe("many clients behind one address", () => {
  const server = liveLoadSuite("ldmany");
  const port = () => Number(server().address.split(":").at(-1));
  const tokens: string[] = [];

  beforeAll(async () => {
    for (const slug of ["svc-a", "svc-b", "svc-c"]) {
      const made = await call(
        server().admin.accessTokens,
        "createAccessToken",
        CreateAccessTokenRequest.fromPartial({
          accessToken: { slug, role: Role.ROLE_ISSUER, certificateProfiles: [DUE_PROFILE] },
        }),
      );
      tokens.push(made.secret);
    }
  });

  it("200 channels of one process, each its own connection, all open at once: every call answered", async () => {
    const clients = Array.from({ length: 200 }, () => client(server().env(), OWN));
    const t = new Tally();
    const results = await Promise.all(clients.map((c) => get(c, server().certificateId)));
    for (const r of results) t.add(r.err, r.right);
    expect(establishedTo(port())).toBeGreaterThanOrEqual(200);
    // A second round on the same 200 connections.
    for (const r of await Promise.all(clients.map((c) => get(c, server().certificateId))))
      t.add(r.err, r.right);
    for (const c of clients) c.close();
    expect({ calls: t.calls, errors: t.errors, wrong: t.wrong, first: t.first_errors }).toEqual({
      calls: 400,
      errors: 0,
      wrong: 0,
      first: [],
    });
    expect(server().limitWarnings()).toEqual([]);
    expect(server().errorLines()).toEqual([]);
  }, 90_000);

  it("300 watch streams of three tokens (100 each, their cap) on three channels: every one gets its first message", async () => {
    const channels: CertificateServiceClient[] = tokens.map((token) =>
      client({ ...server().env(), CERTMINT_TOKEN: token }, OWN),
    );
    const opened = new Tally();
    const streams = channels.flatMap((c) =>
      Array.from({ length: 100 }, () =>
        c.watchCertificates({
          scope: { $case: "certificateId", value: server().certificateId },
          afterCursor: "",
        }),
      ),
    );
    await firstMessages(streams, opened);
    for (const s of streams) s.cancel();
    for (const c of channels) c.close();
    expect({ calls: opened.calls, errors: opened.errors, first: opened.first_errors }).toEqual({
      calls: 300,
      errors: 0,
      first: [],
    });
    expect(server().limitWarnings()).toEqual([]);
    expect(server().errorLines()).toEqual([]);
  }, 90_000);

  it("a load balancer's health checks, 20 a second for 5 s, each on a new TLS connection: all SERVING", async () => {
    const creds = credentials.createSsl(Buffer.from(server().caPem));
    const answers: string[] = [];
    const checks: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      const h = new HealthClientWithOptions(server().address, creds, OWN);
      checks.push(
        new Promise((resolve) =>
          h.check({ service: "" }, { deadline: Date.now() + 30_000 }, (err, res) => {
            h.close();
            answers.push(err ? `${err.code} ${err.details}` : res.status);
            resolve();
          }),
        ),
      );
      await new Promise((r) => setTimeout(r, 50)); // the balancer's pace
    }
    await Promise.all(checks);
    expect(answers.filter((a) => a !== "SERVING")).toEqual([]);
    expect(answers).toHaveLength(100);
    expect(server().limitWarnings()).toEqual([]);
    expect(server().errorLines()).toEqual([]);
  }, 60_000);

  it("grpcurl with reflection, 30 runs one after another: each answers the certificate", () => {
    const grpcurl = join(ROOT, ".tools", "bin", "grpcurl");
    if (!existsSync(grpcurl)) throw new Error("no .tools/bin/grpcurl: run `make grpcurl`");
    const s = server();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const out = execFileSync(
        grpcurl,
        [
          "-cacert",
          s.caFile,
          "-H",
          `authorization: Bearer ${s.live.server.adminToken()}`,
          "-d",
          JSON.stringify({ certificate: s.certificateId }),
          s.address,
          "certmint.v1.CertificateService/GetCertificate",
        ],
        { encoding: "utf8", timeout: 30_000 },
      );
      ids.push((JSON.parse(out) as { certificate: { id: string } }).certificate.id);
    }
    expect(new Set(ids)).toEqual(new Set([s.certificateId]));
    expect(ids).toHaveLength(30);
    expect(server().limitWarnings()).toEqual([]);
    expect(server().errorLines()).toEqual([]);
  }, 90_000);
});
