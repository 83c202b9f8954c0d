/**
 * What a team adopting certmint from TypeScript writes (gen/ts copied into its project, grpc-js):
 * prints one JSON object; test/probe52/clients/adoption.test.ts compiles it in a project of its
 * own (CommonJS, esModuleInterop off and on) and asserts on the output. Environment as for
 * ../go/main.go. The test rewrites the gen/ts import prefix to the consumer's "./gen/ts/".
 */
import { readFileSync } from "node:fs";
import { CallCredentials, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  CertificateEventType,
  CertificateServiceClient,
  certificateEventTypeToJSON,
  certificateRequestStatusToJSON,
  IssueCertificateRequest,
  type IssueCertificateResponse,
  ListCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../../../gen/ts/certmint/v1/certificate_service";
import {
  type ExtendedKeyUsage,
  type KeyUsage,
  RevocationReason,
} from "../../../../gen/ts/certmint/v1/common";
import { BadRequest, ErrorInfo, RetryInfo } from "../../../../gen/ts/google/rpc/error_details";
import { Status } from "../../../../gen/ts/google/rpc/status";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};

function client(withClientCert: boolean): CertificateServiceClient {
  const tls = credentials.createSsl(
    readFileSync(env("ADOPT_CA_FILE")),
    withClientCert ? readFileSync(env("ADOPT_CLIENT_KEY")) : null,
    withClientCert ? readFileSync(env("ADOPT_CLIENT_CERT")) : null,
  );
  const bearer = CallCredentials.createFromMetadataGenerator((_params, callback) => {
    const m = new Metadata();
    m.set("authorization", `Bearer ${env("CERTMINT_TOKEN")}`);
    callback(null, m);
  });
  return new CertificateServiceClient(
    env("ADOPT_ADDR"),
    credentials.combineChannelCredentials(tls, bearer),
  );
}

const deadline = (ms: number) => ({ deadline: Date.now() + ms });

function issue(c: CertificateServiceClient, name: string, metadata = new Metadata()) {
  return new Promise<IssueCertificateResponse>((resolve, reject) =>
    c.issueCertificate(
      IssueCertificateRequest.fromPartial({
        certificateProfile: env("ADOPT_PROFILE"),
        source: {
          $case: "attributes",
          value: { subject: { commonName: name }, subjectAlternativeNames: { dnsNames: [name] } },
        },
      }),
      metadata,
      deadline(30_000),
      (err, res) => (err ? reject(err) : resolve(res!)),
    ),
  );
}

/** The google.rpc.Status of a refused call's grpc-status-details-bin trailer. */
function richStatus(err: ServiceError) {
  const [bin] = err.metadata.get("grpc-status-details-bin");
  if (!Buffer.isBuffer(bin)) throw new Error("no grpc-status-details-bin");
  const st = Status.decode(bin);
  const by = (name: string) => st.details.filter((d) => d.typeUrl.endsWith(`/google.rpc.${name}`));
  return {
    code: status[err.code],
    errorInfo: by("ErrorInfo").map((d) => ErrorInfo.decode(d.value))[0],
    badRequest: by("BadRequest").map((d) => BadRequest.decode(d.value))[0],
    retryInfo: by("RetryInfo").map((d) => RetryInfo.decode(d.value))[0],
  };
}

async function refusal(call: (cb: (err: ServiceError | null) => void) => void) {
  const err = await new Promise<ServiceError | null>((resolve) => call(resolve));
  if (!err) throw new Error("the call was not refused");
  return richStatus(err);
}

async function main() {
  const out: Record<string, unknown> = {};
  const name = env("ADOPT_NAME");
  const certs = client(false);
  const mtls = client(true);
  const issued = await issue(certs, `${name}-tls.example.com`);
  out.tls_status = certificateRequestStatusToJSON(issued.status);
  const rid = new Metadata();
  rid.set("x-request-id", `${name}-mtls-call`);
  out.mtls_status = certificateRequestStatusToJSON(
    (await issue(mtls, `${name}-mtls.example.com`, rid)).status,
  );

  const bad = await refusal((cb) =>
    certs.issueCertificate(
      IssueCertificateRequest.fromPartial({
        certificateProfile: env("ADOPT_PROFILE"),
        // An unknown enum value, as a newer client or a typo would send it.
        keyUsages: [99 as KeyUsage],
        extendedKeyUsages: [99 as ExtendedKeyUsage],
      }),
      new Metadata(),
      deadline(30_000),
      (err) => cb(err),
    ),
  );
  out.bad_request_code = bad.code;
  out.bad_request_reason = bad.errorInfo?.reason;
  out.bad_request_domain = bad.errorInfo?.domain;
  out.bad_request_fields = (bad.badRequest?.fieldViolations ?? []).map((v) => v.field).sort();

  let retry: ReturnType<typeof richStatus> | undefined;
  for (let i = 0; i < 20 && !retry; i++) {
    const err = await new Promise<ServiceError | null>((resolve) =>
      certs.listCertificates(
        ListCertificatesRequest.fromPartial({ pageSize: 1 }),
        new Metadata(),
        deadline(30_000),
        (e) => resolve(e),
      ),
    );
    if (err) retry = richStatus(err);
  }
  out.retry_code = retry?.code;
  out.retry_reason = retry?.errorInfo?.reason;
  const delay = retry?.retryInfo?.retryDelay;
  out.retry_delay_positive = !!delay && (Number(delay.seconds) > 0 || delay.nanos > 0);

  const id = issued.certificate!.certificateId;
  const scope = { $case: "certificateId" as const, value: id };
  const watched = certs.watchCertificates({ scope, afterCursor: "" }, deadline(3_000));
  const events: WatchCertificatesResponse[] = [];
  out.watch_deadline_code = await new Promise((resolve) => {
    watched.on("data", (e: WatchCertificatesResponse) => events.push(e));
    watched.on("error", (e: ServiceError) => resolve(status[e.code]));
    watched.on("end", () => resolve("ended without an error"));
  });
  out.watch_first_type = certificateEventTypeToJSON(events[0]!.type);
  // Resume after the last cursor received (README: a KEEPALIVE may follow CURRENT).
  const last = events.at(-1)!.cursor;

  await new Promise<void>((resolve, reject) =>
    certs.revokeCertificate(
      { certificate: id, reason: RevocationReason.REVOCATION_REASON_SUPERSEDED },
      new Metadata(),
      deadline(30_000),
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  const resumed = certs.watchCertificates({ scope, afterCursor: last }, deadline(30_000));
  const next = await new Promise<WatchCertificatesResponse>((resolve, reject) => {
    resumed.on("data", (e: WatchCertificatesResponse) => {
      if (e.type !== CertificateEventType.CERTIFICATE_EVENT_TYPE_KEEPALIVE) resolve(e);
    });
    resumed.on("error", reject);
  });
  resumed.cancel();
  out.resumed_first_type = certificateEventTypeToJSON(next.type);
  out.resumed_certificate_is_watched = next.certificate?.id === id;
  certs.close();
  mtls.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
