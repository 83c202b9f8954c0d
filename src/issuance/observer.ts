/**
 * What the use cases report as they happen, for operators (the Prometheus metrics of
 * src/server/metrics.ts). A port, so the domain knows nothing of the metrics library; every
 * method is called after the change it reports is committed, and must not throw.
 */
export interface IssuanceObserver {
  /** A certificate was signed and stored (a replay of a request_id reports nothing). */
  certificateIssued(event: {
    operation: "issue" | "renew";
    /** Profile slug. */
    profile: string;
    /** Issuing CA slug, or "self-signed". */
    ca: string;
    keyAlgorithm: string;
  }): void;
  /** A request was refused on its merits and recorded FAILED: the reasons of its violations. */
  requestRefused(reasons: string[]): void;
  /** A CRL of a CA was signed (GetCertificateRevocationList or the publication endpoint). */
  crlSigned(event: {
    caId: string;
    ca: string;
    thisUpdate: Date;
    nextUpdate: Date;
    entries: number;
    bytes: number;
  }): void;
}
