import type { MikroORM } from "@mikro-orm/postgresql";
import type { KeyGenerator } from "../signer";
import type { CaKeyring } from "./ca/keyring";

/**
 * What the use cases need: the database (fork its EntityManager per call), the CA keyring, the
 * clock and a few settings. Built once at start-up (src/app.ts).
 */
export interface IssuanceDeps {
  orm: MikroORM;
  keyring: CaKeyring;
  /** Makes the key pairs certmint generates (RSA fairly between callers, on worker threads). */
  keys: KeyGenerator;
  now: () => Date;
  /** Base URL for CRL distribution points and AIA caIssuers, when configured. */
  publicBaseUrl?: string;
  /** nextUpdate - thisUpdate of CRLs. */
  crlValiditySeconds: number;
  /**
   * Told after a certificate is revoked: the published CRL of its CA is re-signed, and a
   * client certificate stops authenticating at once.
   */
  onCertificateRevoked?: (certificate: { caId: string | null; fingerprintSha256: string }) => void;
}
