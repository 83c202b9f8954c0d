import { X509Certificate } from "node:crypto";
import type { CaRepository, CertificateRepository } from "../issuance/repositories";
import { CaCertificateSet, parseCertificate } from "../signer";
import { ClientCrls } from "./client-crls";

/** The known CA certificates, and which of them certmint has revoked. */
export interface KnownCas {
  readonly set: CaCertificateSet;
  /**
   * SHA-256 (hex) of the certificates of CAs revoked with RevokeCertificateAuthority: a client
   * certificate with one of them on its issuing path authenticates as no one (TLS checks the
   * chain's signatures and dates, not revocation; RFC 5280 6.3 leaves that to the relying party).
   */
  readonly revoked: ReadonlySet<string>;
  /** CRLs of the client CA bundle's CAs (CERTMINT_TLS_CLIENT_CRL_FILE), as last reloaded. */
  readonly crls: ClientCrls;
  /**
   * SHA-256 (hex) of certmint's own CA certificates (the CA rows'): only certmint signs with
   * their keys, so every certificate they issued is in its records (client-certificates.ts).
   */
  readonly own: ReadonlySet<string>;
  /**
   * CA certificates of the client CA bundle that certmint issued through a profile (an
   * intermediate for SPIRE, Istio, another team), by SHA-256, with whether certmint revoked it.
   */
  readonly issuedCas: ReadonlyMap<string, { readonly revoked: boolean }>;
}

/** The client CA bundle and its CRLs as the TLS files were last (re)loaded (src/server/tls.ts). */
export interface ClientTrust {
  clientCaBundle(): Buffer | undefined;
  clientCrls(): ClientCrls;
}

/** No mTLS: no client CA bundle, no CRLs. */
export const NO_CLIENT_TRUST: ClientTrust = {
  clientCaBundle: () => undefined,
  clientCrls: () => ClientCrls.NONE,
};

/**
 * The CA certificates a client certificate's issuing chain is rebuilt from (src/signer/chain.ts):
 * certmint's own CAs and the certificates of the client CA bundle (CERTMINT_TLS_CLIENT_CA_FILE,
 * as last reloaded). The set is rebuilt when the bundle changes and at most every `refreshMs`
 * for the database's CAs, so a CA created (or revoked, on another replica) in the meantime counts
 * within that time; a revocation on this server invalidates it at once.
 */
export class CaDirectory {
  private cached?: {
    cas: KnownCas;
    bundle: Buffer | undefined;
    crls: ClientCrls;
    loadedAt: number;
  };
  private loading?: Promise<KnownCas>;
  /** Bumped by invalidate, so a load that started before it does not cache its result. */
  private generation = 0;

  constructor(
    private readonly cas: Pick<CaRepository, "withCertificates">,
    private readonly client: ClientTrust,
    private readonly refreshMs = 5_000,
    /** Which of the bundle's CA certificates certmint issued (none looked up without it). */
    private readonly certificates?: Pick<CertificateRepository, "issuedAmong">,
  ) {}

  /** Forgets the set: the next client certificate rebuilds it (a new binding may name a new CA). */
  invalidate(): void {
    this.cached = undefined;
    this.loading = undefined;
    this.generation += 1;
  }

  async current(): Promise<KnownCas> {
    const bundle = this.client.clientCaBundle();
    const crls = this.client.clientCrls();
    const c = this.cached;
    if (
      c &&
      c.bundle === bundle &&
      c.crls === crls &&
      performance.now() - c.loadedAt < this.refreshMs
    ) {
      return c.cas;
    }
    if (!this.loading) {
      const loading = this.load(bundle, crls).finally(() => {
        if (this.loading === loading) this.loading = undefined;
      });
      this.loading = loading;
    }
    return this.loading;
  }

  private async load(bundle: Buffer | undefined, crls: ClientCrls): Promise<KnownCas> {
    const generation = this.generation;
    const rows = await this.cas.withCertificates();
    const pems = rows.flatMap((r) => [r.certificatePem!, ...r.chainPem]);
    const bundled = bundle ? splitPem(bundle.toString("latin1")) : [];
    pems.push(...bundled);
    const set = new CaCertificateSet(pems);
    const revoked = new Set(
      rows.filter((r) => r.revokedAt).map((r) => CaCertificateSet.sha256Of(r.certificatePem!)),
    );
    const own = new Set(rows.map((r) => CaCertificateSet.sha256Of(r.certificatePem!)));
    const issuedCas = await this.issuedCasAmong(bundled, own);
    const cas = { set, revoked, crls, own, issuedCas };
    if (generation === this.generation) {
      this.cached = { cas, bundle, crls, loadedAt: performance.now() };
    }
    return cas;
  }

  private async issuedCasAmong(
    bundled: readonly string[],
    own: ReadonlySet<string>,
  ): Promise<Map<string, { revoked: boolean }>> {
    if (!this.certificates || bundled.length === 0) return new Map();
    return issuedCasIn(this.certificates, bundled, own);
  }
}

/** The bundle's CA certificates that certmint issued through a profile (KnownCas.issuedCas). */
async function issuedCasIn(
  certificates: Pick<CertificateRepository, "issuedAmong">,
  bundled: readonly string[],
  own: ReadonlySet<string>,
): Promise<Map<string, { revoked: boolean }>> {
  const candidates: Array<{ serialNumber: string; fingerprintSha256: string }> = [];
  for (const pem of bundled) {
    let serialNumber: string;
    try {
      if (!new X509Certificate(pem).ca) continue;
      // certmint's form of the serial (its DER octets in hex), as its records hold it.
      serialNumber = parseCertificate(pem).serialHex;
    } catch {
      continue; // CaCertificateSet ignores it too
    }
    const fingerprintSha256 = CaCertificateSet.sha256Of(pem);
    if (!own.has(fingerprintSha256)) candidates.push({ serialNumber, fingerprintSha256 });
  }
  const found = await certificates.issuedAmong(candidates);
  return new Map(found.map((c) => [c.fingerprintSha256, { revoked: c.revoked }]));
}

function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
