/**
 * Watch mode of the TypeScript client: waits on WatchCertificates for the server to renew one
 * certificate, then checks with Node's X509Certificate (checkIssued/verify, ./x509.ts) that the
 * successor chains to the CA given as a PEM file.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { Metadata } from "@grpc/grpc-js";
import {
  CertificateEventType,
  type CertificateServiceClient,
  GetCertificateRequest,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { verifyChain } from "./x509";

/** A watch waits for the server's renewal timer. */
const WATCH_LIMIT_MS = 240_000;

export async function watchRenewal(
  certs: CertificateServiceClient,
  certificateId: string,
  caFile: string,
  afterCursor: string,
): Promise<Record<string, unknown>> {
  const ca = new X509Certificate(readFileSync(caFile));
  const old = await new Promise<string>((resolve, reject) =>
    certs.getCertificate(
      GetCertificateRequest.fromPartial({ certificate: certificateId }),
      new Metadata(),
      { deadline: Date.now() + 30_000 },
      (err, res) => (err ? reject(err) : resolve(res.certificate!.serialNumber)),
    ),
  );
  const stream = certs.watchCertificates(
    WatchCertificatesRequest.fromPartial({
      scope: { $case: "certificateId", value: certificateId },
      afterCursor,
    }),
    new Metadata(),
    { deadline: Date.now() + WATCH_LIMIT_MS },
  );
  try {
    for await (const event of stream as AsyncIterable<WatchCertificatesResponse>) {
      if (event.type !== CertificateEventType.CERTIFICATE_EVENT_TYPE_RENEWED) continue;
      if (event.previousCertificateId !== certificateId) continue;
      const successor = event.certificate!;
      const leaf = new X509Certificate(successor.certificatePem);
      // The chain ends with the root: the CA itself is the trust anchor, not an intermediate.
      const intermediates = successor.certificateChainPem
        .map((pem) => new X509Certificate(pem))
        .filter((c) => c.fingerprint256 !== ca.fingerprint256);
      const dnsName = leaf.subjectAltName?.match(/DNS:([^,\s]+)/)?.[1] ?? "";
      const chain = verifyChain(leaf, intermediates, ca, dnsName);
      if (!chain.ok) throw new Error(`the renewed certificate does not verify: ${chain.error}`);
      return {
        language: "ts",
        old_serial: old,
        new_serial: successor.serialNumber,
        verified: true,
      };
    }
  } finally {
    stream.cancel();
  }
  throw new Error("the watch ended before the certificate was renewed");
}
