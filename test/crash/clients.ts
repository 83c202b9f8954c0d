/**
 * The clients of the crash test: loops of IssueCertificate with a fresh request_id per call
 * that remember every request they sent (before sending it) and every certificate they
 * received, until told to stop.
 */
import { Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  type CertificateServiceClient,
  IssueCertificateRequest,
  type IssueCertificateResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import { KeyAlgorithm } from "../../gen/ts/certmint/v1/common";
import { createCsr, generateKeyPair } from "../../src/signer";
import { generatedKeyRequest } from "../support/issue-request";

export type Source = "CSR" | "EC_P256" | "ED25519";

export interface Received {
  certificateRequestId: string;
  certificateId: string;
  serialNumber: string;
  certificatePem: string;
  privateKeyPem: string;
}

export interface Ledger {
  /** Every request sent, by request_id, recorded before the call left the client. */
  sent: Map<string, { source: Source; request: IssueCertificateRequest }>;
  /** Every certificate a client received, by request_id. */
  received: Map<string, Received>;
  /** Calls that ended in an error (the kill), by gRPC code name or message. */
  errors: Map<string, number>;
}

export const newLedger = (): Ledger => ({
  sent: new Map(),
  received: new Map(),
  errors: new Map(),
});

/** n distinct P-256 CSRs for names under example.com (the TLS-server fixture policy). */
export async function csrPool(n: number): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const name = `crash-${i}.example.com`;
      const { privateKey } = await generateKeyPair("EC_P256");
      return createCsr({
        subject: { attributes: [{ type: "COMMON_NAME", value: name }] },
        privateKey,
        sans: { dns: [name], ip: [], email: [], uri: [] },
      });
    }),
  );
}

export function requestFor(
  source: Source,
  requestId: string,
  profile: string,
  csrs: string[],
  n: number,
): IssueCertificateRequest {
  if (source === "CSR") {
    return IssueCertificateRequest.fromPartial({
      certificateProfile: profile,
      requestId,
      source: { $case: "csrPem", value: csrs[n % csrs.length]! },
    });
  }
  // Request ids here are DNS labels.
  return generatedKeyRequest(profile, `${requestId}.example.com`, {
    requestId,
    keyAlgorithm:
      source === "EC_P256"
        ? KeyAlgorithm.KEY_ALGORITHM_EC_P256
        : KeyAlgorithm.KEY_ALGORITHM_ED25519,
  });
}

export function issue(
  client: CertificateServiceClient,
  request: IssueCertificateRequest,
): Promise<IssueCertificateResponse> {
  return new Promise((resolve, reject) => {
    client.issueCertificate(
      request,
      new Metadata(),
      { deadline: Date.now() + 30_000 },
      (err, res) => (err ? reject(err as ServiceError) : resolve(res)),
    );
  });
}

export function receivedOf(res: IssueCertificateResponse): Received {
  const cert = res.certificate;
  if (!cert) throw new Error(`no certificate in the answer (status ${res.status})`);
  return {
    certificateRequestId: res.certificateRequestId,
    certificateId: cert.certificateId,
    serialNumber: cert.serialNumber,
    certificatePem: cert.certificatePem,
    privateKeyPem: res.privateKeyPem,
  };
}

/** One client: issue, record, repeat, until `stopped()`; errors are counted, not thrown. */
export async function clientLoop(opts: {
  client: CertificateServiceClient;
  name: string;
  source: Source;
  profile: string;
  csrs: string[];
  ledger: Ledger;
  stopped: () => boolean;
  onSuccess: () => void;
}): Promise<void> {
  for (let n = 0; !opts.stopped(); n++) {
    const requestId = `${opts.name}-${n}`;
    const request = requestFor(opts.source, requestId, opts.profile, opts.csrs, n);
    opts.ledger.sent.set(requestId, { source: opts.source, request });
    try {
      opts.ledger.received.set(requestId, receivedOf(await issue(opts.client, request)));
      opts.onSuccess();
    } catch (err) {
      const key =
        (err as ServiceError).code !== undefined
          ? `code ${(err as ServiceError).code}`
          : String(err);
      opts.ledger.errors.set(key, (opts.ledger.errors.get(key) ?? 0) + 1);
    }
  }
}
