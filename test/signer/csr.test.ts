/** CSR corpus made by `openssl req`, its tampered variants, and CSRs made by createCsr. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertmintError } from "../../src/errors";
import { KEY_ALGORITHMS } from "../../src/model/pki";
import { createCsr, parseCsr, parseCsrDer, SoftwareSigner } from "../../src/signer";
import { KeyPool, openssl, TempDir } from "./helpers";

let dir: TempDir;
const csrs = new Map<string, string>();

const GENPKEY: Record<string, string[]> = {
  RSA_2048: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
  RSA_3072: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
  RSA_4096: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
  EC_P256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
  EC_P384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
  ED25519: ["-algorithm", "ED25519"],
  RSA_1024: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
  RSA_2304: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2304"],
  SECP256K1: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
  EC_P521: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
  ED448: ["-algorithm", "ED448"],
};
const SUBJ = "/C=US/O=Acme Corp/OU=Platform/CN=svc.example.internal";
const SAN =
  "subjectAltName=DNS:svc.example.internal,DNS:*.svc.example.internal,IP:10.0.0.1,IP:2001:db8:0:0:0:0:0:1,email:ops@example.com,URI:spiffe://example.internal/ns/svc";

async function req(
  name: string,
  keyName: string,
  extra: string[] = [],
  subj = SUBJ,
): Promise<string> {
  const r = await openssl([
    "req",
    "-new",
    "-key",
    `${dir.path}/${keyName}.key`,
    "-subj",
    subj,
    ...extra,
  ]);
  if (r.code !== 0) throw new Error(`openssl req ${name}: ${r.stderr}`);
  csrs.set(name, r.stdout);
  return r.stdout;
}

beforeAll(async () => {
  dir = await TempDir.create();
  await Promise.all(
    Object.entries(GENPKEY).map(async ([name, args]) => {
      const r = await openssl(["genpkey", ...args, "-out", `${dir.path}/${name}.key`]);
      if (r.code !== 0) throw new Error(`genpkey ${name}: ${r.stderr}`);
    }),
  );
  const exts = [
    "-addext",
    SAN,
    "-addext",
    "keyUsage=critical,digitalSignature",
    "-addext",
    "extendedKeyUsage=serverAuth,clientAuth",
  ];
  await Promise.all([
    ...KEY_ALGORITHMS.map((a) => req(a, a, exts)),
    ...["RSA_1024", "RSA_2304", "SECP256K1", "EC_P521", "ED448"].map((a) => req(a, a)),
    req("SHA1", "RSA_2048", ["-sha1"]),
    req("SHA512", "EC_P256", ["-sha512"]),
    req("EMPTY_SUBJECT", "EC_P256", ["-addext", "subjectAltName=DNS:only.example"], "/"),
    req("MULTI_RDN", "EC_P256", ["-multivalue-rdn"], "/CN=a+O=b"),
    req("DC", "EC_P256", [], "/DC=internal/CN=x"),
    req("OTHERNAME", "EC_P256", [
      "-addext",
      "subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@example",
    ]),
    req("CA_REQUEST", "EC_P256", [
      "-addext",
      "basicConstraints=critical,CA:TRUE,pathlen:1",
      "-addext",
      "extendedKeyUsage=1.3.6.1.4.1.311.10.3.12,serverAuth",
    ]),
  ]);
  // RSA key generation takes as long as the machine's load makes it: vitest's hookTimeout applies.
});
afterAll(() => dir?.remove());

const der = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
const pem = (bytes: Buffer, label = "CERTIFICATE REQUEST") =>
  `-----BEGIN ${label}-----\n${bytes.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END ${label}-----\n`;

function reasonOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CertmintError);
    expect((e as CertmintError).kind).toBe("invalid_argument");
    return (e as CertmintError).reason;
  }
  return "NO_ERROR";
}

describe("valid CSRs from openssl req", () => {
  it.each(KEY_ALGORITHMS)("%s parses with the right fields", (alg) => {
    const p = parseCsr(csrs.get(alg)!);
    expect(p.keyAlgorithm).toBe(alg);
    expect(p.signatureAlgorithm).toBe(
      alg.startsWith("RSA")
        ? "SHA256_WITH_RSA"
        : alg === "ED25519"
          ? "ED25519"
          : "ECDSA_WITH_SHA256",
    );
    expect(p.subject.attributes).toEqual([
      { type: "COUNTRY", value: "US" },
      { type: "ORGANIZATION", value: "Acme Corp" },
      { type: "ORGANIZATIONAL_UNIT", value: "Platform" },
      { type: "COMMON_NAME", value: "svc.example.internal" },
    ]);
    expect(p.sans).toEqual({
      dns: ["svc.example.internal", "*.svc.example.internal"],
      ip: ["10.0.0.1", "2001:db8::1"],
      email: ["ops@example.com"],
      uri: ["spiffe://example.internal/ns/svc"],
    });
    expect(p.requestedExtensions).toEqual({
      keyUsages: ["DIGITAL_SIGNATURE"],
      extendedKeyUsages: ["SERVER_AUTH", "CLIENT_AUTH"],
      otherExtensionOids: [],
    });
    expect(p.publicKey.type).toBe("public");
    expect(parseCsrDer(p.der).keyAlgorithm).toBe(alg);
  });

  it("accepts other hashes, an empty subject, the legacy label, and CA requests", () => {
    expect(parseCsr(csrs.get("SHA512")!).signatureAlgorithm).toBe("ECDSA_WITH_SHA512");
    const empty = parseCsr(csrs.get("EMPTY_SUBJECT")!);
    expect(empty.subject.attributes).toEqual([]);
    expect(empty.sans.dns).toEqual(["only.example"]);
    const legacy = csrs.get("EC_P256")!.replace(/CERTIFICATE REQUEST/g, "NEW CERTIFICATE REQUEST");
    expect(parseCsr(legacy).keyAlgorithm).toBe("EC_P256");
    const ca = parseCsr(csrs.get("CA_REQUEST")!).requestedExtensions;
    expect(ca.basicConstraints).toEqual({ isCa: true, pathLength: 1 });
    expect(ca.extendedKeyUsages).toEqual(["SERVER_AUTH"]);
    expect(ca.unknownExtendedKeyUsageOids).toEqual(["1.3.6.1.4.1.311.10.3.12"]);
  });
});

describe("refused CSRs", () => {
  const flip = (bytes: Buffer, at: number) => {
    const b = Buffer.from(bytes);
    b[at] = (b[at] ?? 0) ^ 0x01;
    return b;
  };
  const cases: Array<[string, () => string, string]> = [
    [
      "a flipped signature byte (EC)",
      () => pem(flip(der(csrs.get("EC_P256")!), der(csrs.get("EC_P256")!).length - 3)),
      "CSR_SIGNATURE_INVALID",
    ],
    [
      "a flipped signature byte (RSA)",
      () => pem(flip(der(csrs.get("RSA_2048")!), der(csrs.get("RSA_2048")!).length - 1)),
      "CSR_SIGNATURE_INVALID",
    ],
    [
      "a flipped signature byte (Ed25519)",
      () => pem(flip(der(csrs.get("ED25519")!), der(csrs.get("ED25519")!).length - 1)),
      "CSR_SIGNATURE_INVALID",
    ],
    [
      "a modified subject",
      () => {
        const d = der(csrs.get("EC_P256")!);
        return pem(flip(d, d.indexOf("svc.example.internal") + 1));
      },
      "CSR_SIGNATURE_INVALID",
    ],
    [
      "truncated DER",
      () => {
        const d = der(csrs.get("EC_P256")!);
        return pem(d.subarray(0, d.length - 10));
      },
      "CSR_MALFORMED",
    ],
    ["truncated PEM", () => csrs.get("EC_P256")!.slice(0, 200), "CSR_MALFORMED"],
    ["garbage text", () => "hello, I am not a CSR", "CSR_MALFORMED"],
    [
      "base64 of garbage",
      () => pem(Buffer.from("this is definitely not DER at all")),
      "CSR_MALFORMED",
    ],
    [
      "invalid base64",
      () => "-----BEGIN CERTIFICATE REQUEST-----\nMII$$$\n-----END CERTIFICATE REQUEST-----\n",
      "CSR_MALFORMED",
    ],
    [
      "a wrong PEM label",
      () => csrs.get("EC_P256")!.replace(/CERTIFICATE REQUEST/g, "CERTIFICATE"),
      "CSR_MALFORMED",
    ],
    [
      "trailing DER bytes",
      () => pem(Buffer.concat([der(csrs.get("EC_P256")!), Buffer.from([0, 0])])),
      "CSR_MALFORMED",
    ],
    ["text after the PEM block", () => `${csrs.get("EC_P256")!}extra`, "CSR_MALFORMED"],
    ["two PEM blocks", () => csrs.get("EC_P256")! + csrs.get("EC_P384")!, "CSR_MALFORMED"],
    [
      "BER (non-minimal length)",
      () => {
        // Re-encode the outer length with one extra leading zero octet: same value, not DER.
        const d = der(csrs.get("EC_P256")!);
        const n = (d[1] ?? 0) & 0x7f;
        return pem(Buffer.concat([Buffer.from([0x30, 0x80 | (n + 1), 0x00]), d.subarray(2)]));
      },
      "CSR_MALFORMED",
    ],
    ["an oversize CSR", () => pem(Buffer.alloc(70_000, 0x30)), "CSR_TOO_LARGE"],
    ["RSA-1024", () => csrs.get("RSA_1024")!, "CSR_KEY_TOO_WEAK"],
    ["RSA-2304", () => csrs.get("RSA_2304")!, "CSR_KEY_UNSUPPORTED"],
    ["secp256k1", () => csrs.get("SECP256K1")!, "CSR_KEY_UNSUPPORTED"],
    ["P-521", () => csrs.get("EC_P521")!, "CSR_KEY_UNSUPPORTED"],
    ["Ed448", () => csrs.get("ED448")!, "CSR_KEY_UNSUPPORTED"],
    ["SHA-1", () => csrs.get("SHA1")!, "CSR_SIGNATURE_ALGORITHM_UNSUPPORTED"],
    ["a multi-valued RDN", () => csrs.get("MULTI_RDN")!, "CSR_SUBJECT_UNSUPPORTED"],
    ["a DC attribute", () => csrs.get("DC")!, "CSR_SUBJECT_UNSUPPORTED"],
    ["an otherName SAN", () => csrs.get("OTHERNAME")!, "CSR_SAN_UNSUPPORTED"],
  ];
  it.each(cases)("refuses %s", (_name, make, reason) => {
    expect(reasonOf(() => parseCsr(make()))).toBe(reason);
  });

  it("honours maxBytes and tells the user why", () => {
    const e = (() => {
      try {
        parseCsr(csrs.get("EC_P256")!, { maxBytes: 100 });
      } catch (err) {
        return err as CertmintError;
      }
    })();
    expect(e?.reason).toBe("CSR_TOO_LARGE");
    expect(e?.message).toContain("100-byte limit");
    expect(e?.violations[0]?.field).toBe("csr");
  });

  it("names the weak key size in the message", () => {
    try {
      parseCsr(csrs.get("RSA_1024")!);
    } catch (e) {
      expect((e as Error).message).toContain("1024 bits");
    }
    expect.assertions(1);
  });
});

describe("createCsr", () => {
  const keys = new KeyPool();
  it.each(KEY_ALGORITHMS.filter((a) => a !== "RSA_4096" && a !== "RSA_3072"))(
    "%s: parses back and openssl req -verify accepts it",
    async (alg) => {
      const k = await keys.get(alg);
      const csr = await createCsr({
        subject: { attributes: [{ type: "COMMON_NAME", value: "External Intermediate" }] },
        signer: new SoftwareSigner(k.privateKey),
        ca: { pathLength: 0 },
        sans: { dns: ["ca.example"], ip: [], email: [], uri: [] },
      });
      const p = parseCsr(csr);
      expect(p.keyAlgorithm).toBe(alg);
      expect(p.publicKey.equals(k.publicKey)).toBe(true);
      expect(p.requestedExtensions.basicConstraints).toEqual({ isCa: true, pathLength: 0 });
      expect(p.requestedExtensions.keyUsages).toEqual([
        "DIGITAL_SIGNATURE",
        "KEY_CERT_SIGN",
        "CRL_SIGN",
      ]);
      expect(p.sans.dns).toEqual(["ca.example"]);
      const r = await openssl(["req", "-verify", "-noout"], csr);
      expect(r.stderr).toMatch(/verify OK/i);
    },
  );
});
