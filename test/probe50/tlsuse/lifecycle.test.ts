/**
 * Probe 50 (TLSUSE): a certificate's life as a TLS server sees it. A renewed certificate
 * hot-swapped into a running server (tls.Server.setSecureContext) keeps every client working
 * with the same root; and at the edges of validity a leaf never outlives its intermediate: a TTL
 * past the intermediate's end is truncated (or refused), a TTL just inside it is kept, and Go's
 * crypto/tls and openssl s_client, verifying at the leaf's first and last second, accept the
 * whole chain there and refuse it a second after.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  RenewalKeySource,
  RenewCertificateRequest,
} from "../../../gen/ts/certmint/v1/certificate_service";
import {
  attributesRequest,
  caCountRows,
  certificateCount,
  createIntermediateCa,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
  startLive,
} from "../../probe49/cert/live";
import { call, expectRpcError } from "../../support/harness";
import { TempDir } from "../../support/openssl";
import { A, type Ca, type Deployed, deploy, issueDeployed, makeCas, makeProfile } from "./chains";
import {
  type Check,
  errors,
  every,
  type NodeServer,
  nodeConnect,
  opensslConnect,
  outcome,
  Peers,
  serveNode,
} from "./peers";

const DAY = 86_400;
const INTER_TTL = 2 * DAY;

describe("probe50 tlsuse: renewal hot-swap and validity edges in handshakes", () => {
  let live: LiveCertmint;
  let peers: Peers;
  const tmp = new TempDir();
  let root: Ca;
  let inter: Ca;
  let rootFile = "";
  const servers: NodeServer[] = [];

  const serve = async (d: Deployed) => {
    const s = await serveNode(d.keyPem, d.pem + d.chainPem);
    servers.push(s);
    return s;
  };
  const leafRequest = (profile: string, ttlSeconds: number) =>
    attributesRequest(profile, {
      cn: "api.example.com",
      sans: { dnsNames: ["api.example.com"] },
      extra: { ttl: { seconds: String(ttlSeconds), nanos: 0 } },
    });
  /** Go's and openssl's verdicts on the served chain, verified as at `at`. */
  const at = async (port: number, when: Date) => {
    const c: Check = { port, name: "api.example.com", rootFile, at: when };
    return { go: (await peers.go([c]))[0]!, openssl: await opensslConnect(c) };
  };
  const second = (d: Date, s: number) => new Date(d.getTime() + s * 1000);

  beforeAll(async () => {
    [live, peers] = await Promise.all([startLive(), Peers.build(tmp.path)]);
    ({ root, inter } = await makeCas(live, "life", A.KEY_ALGORITHM_EC_P256, {
      ttlSeconds: INTER_TTL,
    }));
    rootFile = tmp.file("root.pem", root.pem);
    await makeProfile(live, "web", inter.slug);
    await makeProfile(live, "trunc", inter.slug, { truncate: true });
  }, 150_000);

  afterAll(async () => {
    for (const s of servers) await s.close();
    await live?.stop();
    tmp.remove();
  });

  it("a renewed certificate hot-swapped into the server keeps every client working", async () => {
    const first = await issueDeployed(live, tmp, "web", {
      cn: "api.example.com",
      sans: { dnsNames: ["api.example.com"], ipAddresses: ["127.0.0.1"] },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
    });
    const server = await serve(first);
    const checks: Check[] = ["api.example.com", "127.0.0.1"].map((name) => ({
      port: server.port,
      name,
      rootFile,
    }));
    for (const v of await peers.all(checks)) expect(outcome(v), errors(v)).toEqual(every("ok"));

    const renewed = deploy(
      tmp,
      await call(
        live.certificates,
        "renewCertificate",
        RenewCertificateRequest.fromPartial({
          certificateId: first.id,
          keySource: RenewalKeySource.RENEWAL_KEY_SOURCE_NEW,
        }),
      ),
    );
    expect(renewed.serial).not.toBe(first.serial);
    expect(renewed.keyPem).not.toBe(first.keyPem);
    server.swap(renewed.keyPem, renewed.pem + renewed.chainPem);

    const served = await nodeConnect(checks[0]!);
    expect(served.ok, served.error).toBe(true);
    expect(BigInt(`0x${served.serial}`)).toBe(renewed.serial);
    for (const v of await peers.all(checks)) expect(outcome(v), errors(v)).toEqual(every("ok"));
  });

  it("a TTL past the intermediate's end is truncated to it; the chain verifies to its last second", async () => {
    const leaf = deploy(tmp, await issueCertificate(live, leafRequest("trunc", 10 * DAY)));
    expect(leaf.notAfter.getTime()).toBeLessThanOrEqual(inter.notAfter.getTime());
    // Truncated, not shortened further: it ends with the intermediate (to the second).
    expect(inter.notAfter.getTime() - leaf.notAfter.getTime()).toBeLessThan(1000);
    const server = await serve(leaf);
    const last = await at(server.port, second(leaf.notAfter, -1));
    expect(last.go, last.go.error).toEqual({ ok: true });
    expect(last.openssl.ok, last.openssl.error).toBe(true);
    const after = await at(server.port, second(leaf.notAfter, 2));
    expect(after.go.ok).toBe(false);
    expect(after.go.error).toMatch(/expired/);
    expect(after.openssl.ok).toBe(false);
    expect(after.openssl.stdout + after.openssl.stderr).toMatch(/expired/);
  });

  it("a TTL past the intermediate's end on a FAIL profile is refused and nothing is stored", async () => {
    const before = await certificateCount(live.db);
    const e = await expectRpcError(issueCertificate(live, leafRequest("web", 10 * DAY)));
    expect(e.code).toBe(9); // FAILED_PRECONDITION
    expect(e.reason).toBe("VALIDITY_EXCEEDS_ISSUER");
    expect(await certificateCount(live.db)).toBe(before);
  });

  it("a TTL just inside the intermediate's remaining life is kept, and verifies at both ends", async () => {
    const remaining = Math.floor((inter.notAfter.getTime() - Date.now()) / 1000);
    const res = await issueCertificate(live, leafRequest("web", remaining - 120));
    const leaf = deploy(tmp, res);
    expect(leaf.notAfter.getTime()).toBeLessThan(inter.notAfter.getTime());
    // The leaf starts no earlier than the CAs above it (its backdated minute included).
    expect(leaf.notBefore.getTime()).toBeGreaterThanOrEqual(inter.notBefore.getTime());
    expect(leaf.notBefore.getTime()).toBeGreaterThanOrEqual(root.notBefore.getTime());
    const server = await serve(leaf);
    for (const when of [leaf.notBefore, second(leaf.notAfter, -1)]) {
      const v = await at(server.port, when);
      expect(v.go, `${when.toISOString()}: ${v.go.error}`).toEqual({ ok: true });
      expect(v.openssl.ok, v.openssl.error).toBe(true);
    }
    const early = await at(server.port, second(leaf.notBefore, -2));
    expect(early.go.ok).toBe(false);
    expect(early.openssl.ok).toBe(false);
  });

  it("an intermediate may not outlive its root; by default it ends with it, and its leaf verifies to the end", async () => {
    const shortRoot = await createRootCa(live, "short-root", A.KEY_ALGORITHM_EC_P256, {
      ttl: { seconds: String(3 * DAY), nanos: 0 },
    });
    const asked = (ttlSeconds?: number) =>
      createIntermediateCa(live, {
        slug: "short-inter",
        parentCertificateAuthority: shortRoot.slug,
        subject: { commonName: "short Issuing CA" },
        keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
        ...(ttlSeconds ? { ttl: { seconds: String(ttlSeconds), nanos: 0 } } : {}),
      });
    // Asked for longer than the root lasts: refused, and nothing created.
    const cas = async () => Number((await caCountRows(live))[0]!.n);
    const before = await cas();
    const e = await expectRpcError(asked(30 * DAY));
    expect({ code: e.code, reason: e.reason }).toEqual({
      code: 9,
      reason: "VALIDITY_EXCEEDS_ISSUER",
    });
    expect(await cas()).toBe(before);
    // With the default lifetime (5 years) it is made, ending with the root.
    const res = await asked();
    const sub = res.certificateAuthority!;
    expect(sub.notAfter!.getTime()).toBeLessThanOrEqual(shortRoot.notAfter!.getTime());
    await makeProfile(live, "short", sub.slug, { truncate: true });
    const leaf = deploy(tmp, await issueCertificate(live, leafRequest("short", 20 * DAY)));
    expect(leaf.notAfter.getTime()).toBeLessThanOrEqual(shortRoot.notAfter!.getTime());
    const server = await serve(leaf);
    const shortRootFile = tmp.file("short-root.pem", shortRoot.certificatePem);
    const c = (when: Date): Check => ({
      port: server.port,
      name: "api.example.com",
      rootFile: shortRootFile,
      at: when,
    });
    const last = c(second(leaf.notAfter, -1));
    const [go] = await peers.go([last]);
    expect(go, go?.error).toEqual({ ok: true });
    const o = await opensslConnect(last);
    expect(o.ok, o.error).toBe(true);
  });
});
