/**
 * Probe 50 (TLSUSE): do certificates certmint issues work in real TLS handshakes? For every key
 * type the TLS-server preset allows, a root -> intermediate -> leaf chain made over gRPC on the
 * compiled server; the leaf (DNS, wildcard and IP SANs) and its intermediate served by Node
 * (and openssl s_server for one type); openssl s_client, Node, Python ssl, Go crypto/tls and
 * Java JSSE, each trusting the root alone, must accept every name the certificate carries and
 * refuse every name it does not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveCertmint, startLive } from "../../probe49/cert/live";
import { TempDir } from "../../support/openssl";
import { type Deployed, issueDeployed, KEY_TYPES, makeCas, makeProfile } from "./chains";
import {
  type Check,
  errors,
  every,
  type NodeServer,
  type OpensslServer,
  outcome,
  Peers,
  serveNode,
  serveOpenssl,
} from "./peers";

/** Names the leaf carries (accepted) and names it does not (refused by every client). */
const NAMES = [
  { name: "api.example.com", accepted: true },
  { name: "node7.wild.example.com", accepted: true },
  { name: "127.0.0.1", accepted: true },
  { name: "::1", accepted: true },
  // Not in the certificate.
  { name: "other.example.com", accepted: false },
  // A wildcard stands for exactly one label (RFC 6125 6.4.3).
  { name: "a.b.wild.example.com", accepted: false },
  { name: "wild.example.com", accepted: false },
  { name: "127.0.0.2", accepted: false },
];

describe("probe50 tlsuse: handshakes with certmint chains, every key type, five TLS stacks", () => {
  let live: LiveCertmint;
  let peers: Peers;
  const tmp = new TempDir();
  const servers: { close(): Promise<void> }[] = [];
  const setups = new Map<string, { rootFile: string; leaf: Deployed; node: NodeServer }>();
  let opensslServer: OpensslServer;

  beforeAll(async () => {
    [live, peers] = await Promise.all([startLive(), Peers.build(tmp.path)]);
    for (const [label, alg] of KEY_TYPES) {
      const prefix = label.toLowerCase();
      const { root, inter } = await makeCas(live, prefix, alg);
      await makeProfile(live, `${prefix}-web`, inter.slug);
      const leaf = await issueDeployed(live, tmp, `${prefix}-web`, {
        cn: "api.example.com",
        sans: {
          dnsNames: ["api.example.com", "*.wild.example.com"],
          ipAddresses: ["127.0.0.1", "::1"],
        },
        keyAlgorithm: alg,
      });
      const node = await serveNode(leaf.keyPem, leaf.pem + leaf.chainPem);
      servers.push(node);
      setups.set(label, { rootFile: tmp.file(`${prefix}-root.pem`, root.pem), leaf, node });
    }
    const p256 = setups.get("P-256")!;
    opensslServer = await serveOpenssl(p256.leaf);
  }, 150_000);

  afterAll(async () => {
    for (const s of servers) await s.close();
    await opensslServer?.stop();
    await live?.stop();
    tmp.remove();
  });

  for (const [label] of KEY_TYPES) {
    it(`${label}: every stack accepts the certificate's names and refuses others (Node server)`, async () => {
      const { rootFile, node } = setups.get(label)!;
      const checks: Check[] = NAMES.map(({ name }) => ({ port: node.port, name, rootFile }));
      const verdicts = await peers.all(checks);
      NAMES.forEach(({ name, accepted }, i) => {
        expect(
          { name, ...outcome(verdicts[i]!) },
          `${label} ${name}:\n${errors(verdicts[i]!)}`,
        ).toEqual({ name, ...every(accepted ? "ok" : "refused") });
      });
    });
  }

  it("P-256 served by openssl s_server: the same verdicts", async () => {
    const { rootFile } = setups.get("P-256")!;
    const checks: Check[] = NAMES.map(({ name }) => ({
      port: opensslServer.port,
      name,
      rootFile,
    }));
    const verdicts = await peers.all(checks);
    NAMES.forEach(({ name, accepted }, i) => {
      expect({ name, ...outcome(verdicts[i]!) }, errors(verdicts[i]!)).toEqual({
        name,
        ...every(accepted ? "ok" : "refused"),
      });
    });
  });

  it("a client that trusts another certmint root refuses the chain (the root is the anchor)", async () => {
    const p256 = setups.get("P-256")!;
    const otherRoot = setups.get("P-384")!.rootFile;
    const [v] = await peers.all([
      { port: p256.node.port, name: "api.example.com", rootFile: otherRoot },
    ]);
    expect(outcome(v!)).toEqual(every("refused"));
  });

  it("a server that sends only its leaf: JSSE completes the chain from the AIA caIssuers URL", async () => {
    // Platform teams meet servers configured without their intermediate; Java can fetch it
    // from the certificate's AIA (RFC 5280 4.2.2.1), which must then serve the issuing CA.
    const { rootFile, leaf } = setups.get("P-256")!;
    const leafOnly = await serveNode(leaf.keyPem, leaf.pem);
    servers.push(leafOnly);
    const check = { port: leafOnly.port, name: "api.example.com", rootFile };
    const [aia] = await peers.java([check], ["-Dcom.sun.security.enableAIAcaIssuers=true"]);
    expect(aia, aia?.error).toEqual({ ok: true });
    // Without the fetch the chain is incomplete: what the other stacks (which never fetch) see.
    const [plain] = await peers.java([check]);
    expect(plain!.ok).toBe(false);
    expect((await peers.go([check]))[0]!.ok).toBe(false);
  });
});
