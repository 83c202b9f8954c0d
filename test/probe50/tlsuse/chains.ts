/**
 * Probe 50 (TLSUSE): root -> intermediate -> leaf chains made over gRPC on a live certmint
 * (test/probe49/cert/live.ts), written to files as a platform team deploys them: the key, the
 * leaf, the intermediates, leaf+intermediates, and the root as the only trust anchor.
 */
import { X509Certificate } from "node:crypto";
import { CertificatePolicyPreset } from "../../../gen/ts/certmint/v1/certificate_policy_service";
import type {
  IssueCertificateRequest,
  IssueCertificateResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import {
  KeyAlgorithm,
  type NameConstraints,
  type Subject,
  type SubjectAlternativeNames,
} from "../../../gen/ts/certmint/v1/common";
import type { DeepPartial } from "../../../gen/ts/google/protobuf/duration";
import {
  attributesRequest,
  createIntermediateCa,
  createPolicy,
  createProfile,
  createRootCa,
  issueCertificate,
  type LiveCertmint,
} from "../../probe49/cert/live";
import type { TempDir } from "../../support/openssl";

export const A = KeyAlgorithm;

/** The key types the TLS presets allow (none of them restricts keyAlgorithms). */
export const KEY_TYPES = [
  ["P-256", A.KEY_ALGORITHM_EC_P256],
  ["P-384", A.KEY_ALGORITHM_EC_P384],
  ["RSA-2048", A.KEY_ALGORITHM_RSA_2048],
  ["RSA-3072", A.KEY_ALGORITHM_RSA_3072],
  ["Ed25519", A.KEY_ALGORITHM_ED25519],
] as const;

export interface Ca {
  slug: string;
  id: string;
  pem: string;
  notBefore: Date;
  notAfter: Date;
}

/** A root and an intermediate below it, both of `alg`; `inter` adds to the intermediate's request. */
export async function makeCas(
  live: LiveCertmint,
  prefix: string,
  alg: KeyAlgorithm,
  inter: {
    nameConstraints?: DeepPartial<NameConstraints>;
    ttlSeconds?: number;
    maxPathLength?: number;
  } = {},
): Promise<{ root: Ca; inter: Ca }> {
  const r = await createRootCa(live, `${prefix}-root`, alg);
  const i = (
    await createIntermediateCa(live, {
      slug: `${prefix}-inter`,
      parentCertificateAuthority: r.slug,
      subject: { commonName: `${prefix} Issuing CA`, organization: ["Probe 50"] },
      keyAlgorithm: alg,
      ...(inter.nameConstraints ? { nameConstraints: inter.nameConstraints } : {}),
      ...(inter.ttlSeconds ? { ttl: { seconds: String(inter.ttlSeconds), nanos: 0 } } : {}),
      ...(inter.maxPathLength !== undefined ? { maxPathLength: inter.maxPathLength } : {}),
    })
  ).certificateAuthority!;
  const ca = (c: typeof r): Ca => ({
    slug: c.slug,
    id: c.id,
    pem: c.certificatePem,
    notBefore: c.notBefore!,
    notAfter: c.notAfter!,
  });
  return { root: ca(r), inter: ca(i) };
}

/** DNS names below example.com (wildcards too) and loopback IPs. */
export const SERVER_SANS = {
  dns: { allowed: ["**.example.com"], allowWildcardNames: true },
  ip: { allowed: ["127.0.0.0/8", "::1/128"] },
};

/** A policy from `preset` with SERVER_SANS and any CN, and a profile of the same slug on `ca`. */
export async function makeProfile(
  live: LiveCertmint,
  slug: string,
  ca: string,
  o: {
    preset?: CertificatePolicyPreset;
    truncate?: boolean;
    sanRules?: Record<string, unknown>;
  } = {},
) {
  await createPolicy(
    live,
    slug,
    {
      sanRules: o.sanRules ?? SERVER_SANS,
      subjectRules: { commonName: { allowed: ["*"] } },
    },
    o.preset ?? CertificatePolicyPreset.CERTIFICATE_POLICY_PRESET_TLS_SERVER,
  );
  return createProfile(live, slug, slug, { ca }, o.truncate ? { truncate: true } : {});
}

/** A leaf as deployed: files for its key, itself, the intermediates and leaf+intermediates. */
export interface Deployed {
  id: string;
  serial: bigint;
  pem: string;
  keyPem: string;
  chainPem: string;
  keyFile: string;
  certFile: string;
  chainFile: string;
  fullchainFile: string;
  notBefore: Date;
  notAfter: Date;
}

/** Writes an issued (or renewed) certificate with its generated key as a deployment does. */
export function deploy(
  tmp: TempDir,
  res: Pick<IssueCertificateResponse, "certificate" | "privateKeyPem">,
): Deployed {
  const c = res.certificate!;
  // The chain above the leaf minus the root: what a server sends (RFC 8446 4.4.2).
  const chainPem = c.certificateChainPem.slice(0, -1).join("");
  const x = new X509Certificate(c.certificatePem);
  return {
    id: c.certificateId,
    serial: BigInt(`0x${x.serialNumber}`),
    pem: c.certificatePem,
    keyPem: res.privateKeyPem,
    chainPem,
    keyFile: tmp.file("leaf.key", res.privateKeyPem),
    certFile: tmp.file("leaf.pem", c.certificatePem),
    chainFile: tmp.file("chain.pem", chainPem),
    fullchainFile: tmp.file("fullchain.pem", c.certificatePem + chainPem),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
  };
}

/** IssueCertificate of a key certmint generates, deployed to files. */
export async function issueDeployed(
  live: LiveCertmint,
  tmp: TempDir,
  profile: string,
  o: {
    cn?: string;
    subject?: DeepPartial<Subject>;
    sans: DeepPartial<SubjectAlternativeNames>;
    keyAlgorithm: KeyAlgorithm;
    extra?: DeepPartial<IssueCertificateRequest>;
  },
): Promise<Deployed> {
  const res = await issueCertificate(live, attributesRequest(profile, o));
  return deploy(tmp, res);
}

/** A TLS-server leaf for api.example.com (a DNS SAN), of a key certmint generates. */
export function issueApiLeaf(
  live: LiveCertmint,
  tmp: TempDir,
  profile: string,
  keyAlgorithm: KeyAlgorithm = A.KEY_ALGORITHM_EC_P256,
): Promise<Deployed> {
  return issueDeployed(live, tmp, profile, {
    cn: "api.example.com",
    sans: { dnsNames: ["api.example.com"] },
    keyAlgorithm,
  });
}
