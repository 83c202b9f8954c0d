/**
 * A sidecar that keeps one certificate and its key up to date on disk, as certmint renews it
 * (profile renewal.auto_renew): it opens CertificateService.WatchCertificates on the
 * certificate's lineage and, on every certificate the watch delivers (the current one first,
 * then each successor), writes
 *   <dir>/cert.pem   the certificate, then its chain (nearest CA first)
 *   <dir>/key.pem    the private key, mode 0600, when certmint generated it (sent to the owner only)
 *   <dir>/cursor     the last event's cursor, so a restart resumes where it stopped
 * each replaced atomically (written aside, then renamed), so a reader never sees half a file.
 * A certificate that comes without its key and does not match key.pem is not written: the
 * sidecar stops (exit 1) with the files as they were, a pair that still matches.
 * It reconnects with backoff when the stream ends for a reason worth retrying (the server
 * stopping, the network), and stops on SIGTERM.
 *
 * Usage: CERTMINT_TOKEN=<access token> node watch-sidecar.js <host:port> <certificate id> <dir>
 * (the token comes from the environment, never the command line, where ps would show it).
 * Plaintext for brevity; use credentials.createSsl(...) against a TLS listener.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ClientReadableStream,
  credentials,
  InterceptingCall,
  type Interceptor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import {
  CertificateEventType,
  CertificateServiceClient,
  certificateEventTypeToJSON,
  type WatchCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";

const [address, certificateId, dir] = process.argv.slice(2);
const token = process.env.CERTMINT_TOKEN;
if (!address || !certificateId || !dir || !token) {
  console.error("usage: CERTMINT_TOKEN=<token> watch-sidecar <host:port> <certificate id> <dir>");
  process.exit(2);
}

/** Sends `authorization: Bearer <token>` on every call. */
const bearer: Interceptor = (options, next) =>
  new InterceptingCall(next(options), {
    start(metadata, listener, nextStart) {
      metadata.set("authorization", `Bearer ${token}`);
      nextStart(metadata, listener);
    },
  });

const client = new CertificateServiceClient(address, credentials.createInsecure(), {
  interceptors: [bearer],
});

/** Replaces `name` in `dir` atomically, with `mode`. */
function replaceFile(name: string, content: string, mode: number): void {
  const target = join(dir!, name);
  const aside = `${target}.new`;
  writeFileSync(aside, content, { mode });
  chmodSync(aside, mode); // writeFileSync's mode is masked by the umask
  renameSync(aside, target);
}

const cursorFile = join(dir, "cursor");
let cursor = existsSync(cursorFile) ? readFileSync(cursorFile, "utf8").trim() : "";

/** Whether key.pem (if there is one: the certificate's key may live elsewhere) is its key. */
function keyOnDiskMatches(certificatePem: string): boolean {
  const keyFile = join(dir!, "key.pem");
  if (!existsSync(keyFile)) return true;
  try {
    return new X509Certificate(certificatePem).checkPrivateKey(
      createPrivateKey(readFileSync(keyFile, "utf8")),
    );
  } catch {
    return false;
  }
}

/** Writes what an event carries; returns after the files are in place. */
function handle(event: WatchCertificatesResponse): void {
  const cert = event.certificate;
  const delivers =
    event.type === CertificateEventType.CERTIFICATE_EVENT_TYPE_CURRENT ||
    event.type === CertificateEventType.CERTIFICATE_EVENT_TYPE_RENEWED ||
    event.type === CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED;
  if (cert && delivers) {
    // A certificate without its key (another token renewed it with a new key, or certmint no
    // longer holds it) that the key.pem in place does not match is never written: the pair
    // would stop the TLS server that reloads them. Stop instead, the old pair left as it was.
    if (!event.privateKeyPem && !keyOnDiskMatches(cert.certificatePem)) {
      console.error(
        `certificate ${cert.serialNumber} is not for ${join(dir!, "key.pem")} and came without its key (renewed with a new key by another token?): files left as they were; renew it with this token`,
      );
      process.exit(1);
    }
    // The key first: a reader that sees the new certificate finds its key already there.
    if (event.privateKeyPem) replaceFile("key.pem", event.privateKeyPem, 0o600);
    replaceFile("cert.pem", [cert.certificatePem, ...cert.certificateChainPem].join(""), 0o644);
  }
  cursor = event.cursor;
  replaceFile("cursor", `${cursor}\n`, 0o600);
  console.log(
    JSON.stringify({
      type: certificateEventTypeToJSON(event.type),
      certificate_id: cert?.id ?? "",
      cursor: event.cursor,
    }),
  );
}

/** Codes after which the same watch may succeed later. */
const RETRY = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.INTERNAL,
]);

let stream: ClientReadableStream<WatchCertificatesResponse> | undefined;
let stopping = false;
let backoffMs = 500;

function watch(): void {
  const s = client.watchCertificates({
    scope: { $case: "certificateId", value: certificateId! },
    afterCursor: cursor,
  });
  stream = s;
  s.on("data", (event: WatchCertificatesResponse) => {
    backoffMs = 500;
    handle(event);
  });
  s.on("error", (err: ServiceError) => {
    if (stopping) return;
    if (!RETRY.has(err.code)) {
      console.error(`watch refused: ${err.code} ${err.details}`);
      process.exit(1);
    }
    console.error(`watch ended (${err.details}); reconnecting in ${backoffMs} ms`);
    setTimeout(watch, backoffMs);
    backoffMs = Math.min(backoffMs * 2, 30_000);
  });
}

process.on("SIGTERM", () => {
  stopping = true;
  stream?.cancel();
  client.close();
});
watch();
