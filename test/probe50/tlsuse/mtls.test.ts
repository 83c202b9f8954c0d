/**
 * Probe 50 (TLSUSE): mTLS with certmint certificates. A client-auth leaf (TLS_CLIENT preset,
 * extKeyUsage clientAuth) is accepted by servers that require a client certificate and trust
 * the root alone: Node, openssl s_server and Go's crypto/tls. A server-auth-only leaf
 * (TLS_SERVER preset: serverAuth, no clientAuth) presented as a client certificate is refused
 * by each of them (OpenSSL's purpose check, Go's ExtKeyUsageClientAuth), and a client-only leaf
 * served as a server certificate is refused by every client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import { type LiveCertmint, startLive } from "../../probe49/cert/live";
import { opensslOk, TempDir } from "../../support/openssl";
import { waitFor } from "../../support/wait";
import { A, type Deployed, issueApiLeaf, issueDeployed, makeCas, makeProfile } from "./chains";
import {
  type Check,
  errors,
  every,
  type NodeServer,
  nodeConnect,
  type OpensslServer,
  opensslConnect,
  outcome,
  Peers,
  serveNode,
  serveOpenssl,
} from "./peers";

describe("probe50 tlsuse: mTLS with certmint client and server certificates", () => {
  let live: LiveCertmint;
  let peers: Peers;
  const tmp = new TempDir();
  let rootFile = "";
  let server: Deployed;
  let client: Deployed;
  let node: NodeServer;
  let sServer: OpensslServer;

  /** How a client presents `leaf` to a server whose only anchor is the root. */
  const presenting = (leaf: Deployed, port: number): Check => ({
    port,
    name: "api.example.com",
    rootFile,
    certFile: leaf.fullchainFile,
    keyFile: leaf.keyFile,
  });
  /** openssl s_client sends the intermediate from -cert_chain (-cert reads one certificate). */
  const opensslPresenting = (leaf: Deployed, port: number) =>
    opensslConnect({ ...presenting(leaf, port), certFile: leaf.certFile }, [
      "-cert_chain",
      leaf.chainFile,
    ]);

  beforeAll(async () => {
    [live, peers] = await Promise.all([startLive(), Peers.build(tmp.path)]);
    const { root, inter } = await makeCas(live, "mtls", A.KEY_ALGORITHM_EC_P256);
    rootFile = tmp.file("root.pem", root.pem);
    await makeProfile(live, "server", inter.slug);
    await makeProfile(live, "client", inter.slug, {
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
      sanRules: { dns: { allowed: ["**.example.com"] } },
    });
    server = await issueApiLeaf(live, tmp, "server");
    client = await issueDeployed(live, tmp, "client", {
      cn: "worker.example.com",
      sans: { dnsNames: ["worker.example.com"] },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
    });
    node = await serveNode(server.keyPem, server.pem + server.chainPem, {
      clientRoot: root.pem,
    });
    sServer = await serveOpenssl(server, [
      "-Verify",
      "1",
      "-verify_return_error",
      "-CAfile",
      rootFile,
    ]);
  }, 150_000);

  afterAll(async () => {
    await node?.close();
    await sServer?.stop();
    await live?.stop();
    tmp.remove();
  });

  it("a clientAuth leaf is accepted by a Node server that requires client certificates", async () => {
    const check = presenting(client, node.port);
    const verdicts = {
      openssl: await opensslPresenting(client, node.port),
      node: await nodeConnect(check),
      python: (await peers.python([check]))[0]!,
      go: (await peers.go([check]))[0]!,
    };
    expect(outcome(verdicts as never), errors(verdicts)).toEqual({
      openssl: "ok",
      node: "ok",
      python: "ok",
      go: "ok",
    });
    expect(node.acceptedClients.filter((s) => BigInt(`0x${s}`) === client.serial)).toHaveLength(4);
  });

  it("a clientAuth leaf is accepted by openssl s_server -Verify and by Go's server", async () => {
    const viaOpenssl = await opensslPresenting(client, sServer.port);
    expect(viaOpenssl.ok, viaOpenssl.error).toBe(true);
    const go = await peers.goServerVerdict(presenting(client, 0), {
      certFile: server.fullchainFile,
      keyFile: server.keyFile,
    });
    expect(go, go.error).toEqual({ ok: true });
  });

  it("a serverAuth-only leaf presented as a client certificate is refused (purpose check)", async () => {
    const check = presenting(server, node.port);
    const before = node.acceptedClients.length;
    const verdicts = {
      openssl: await opensslPresenting(server, node.port),
      node: await nodeConnect(check),
      python: (await peers.python([check]))[0]!,
      go: (await peers.go([check]))[0]!,
    };
    expect(outcome(verdicts as never)).toEqual({
      openssl: "refused",
      node: "refused",
      python: "refused",
      go: "refused",
    });
    expect(node.acceptedClients.length).toBe(before);

    const viaSServer = await opensslPresenting(server, sServer.port);
    expect(viaSServer.ok).toBe(false);
    await waitFor(
      "s_server's verdict on the client certificate",
      () => /verify error/.test(sServer.output()),
      15_000,
    ).catch(() => {});
    // X509_V_ERR_INVALID_PURPOSE (26).
    expect(sServer.output()).toMatch(/num=26:(unsuitable|unsupported) certificate purpose/);

    const go = await peers.goServerVerdict(presenting(server, 0), {
      certFile: server.fullchainFile,
      keyFile: server.keyFile,
    });
    expect(go.ok).toBe(false);
    expect(go.error).toMatch(/incompatible key usage/);
  });

  it("a clientAuth-only leaf served as a server certificate is refused by every client", async () => {
    const wrong = await serveNode(client.keyPem, client.pem + client.chainPem);
    try {
      const [v] = await peers.all([{ port: wrong.port, name: "worker.example.com", rootFile }]);
      expect(outcome(v!), errors(v!)).toEqual(every("refused"));
    } finally {
      await wrong.close();
    }
  });

  it("a SPIFFE-style client certificate (URI SAN only, empty subject) is accepted by every server", async () => {
    await makeProfile(live, "svid", "mtls-inter", {
      preset: CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_CLIENT,
      sanRules: { uri: { allowed: ["spiffe://prod.example/*"] } },
    });
    const svid = await issueDeployed(live, tmp, "svid", {
      subject: {},
      sans: { uris: ["spiffe://prod.example/ns/payments/sa/api"] },
      keyAlgorithm: A.KEY_ALGORITHM_EC_P256,
    });
    const text = opensslOk(["x509", "-noout", "-text", "-in", svid.certFile]);
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical/);
    const check = presenting(svid, node.port);
    const verdicts = {
      openssl: await opensslPresenting(svid, node.port),
      node: await nodeConnect(check),
      python: (await peers.python([check]))[0]!,
      go: (await peers.go([check]))[0]!,
      sServer: await opensslPresenting(svid, sServer.port),
      goServer: await peers.goServerVerdict(presenting(svid, 0), {
        certFile: server.fullchainFile,
        keyFile: server.keyFile,
      }),
    };
    expect(outcome(verdicts as never), errors(verdicts)).toEqual({
      openssl: "ok",
      node: "ok",
      python: "ok",
      go: "ok",
      sServer: "ok",
      goServer: "ok",
    });
  });
});
