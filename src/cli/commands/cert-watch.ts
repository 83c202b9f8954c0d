/**
 * cert watch: CertificateService.WatchCertificates on a terminal or as a sidecar. Prints one line
 * (or JSON object) per event; with --out-dir keeps the newest certificate of a lineage, its chain
 * and key in files. Reconnects from the last cursor when the stream ends for a reason worth
 * retrying (the server stopping ends streams with UNAVAILABLE), and ends cleanly on SIGINT or
 * SIGTERM (exit code 0).
 */
import { type ClientReadableStream, type ServiceError, status } from "@grpc/grpc-js";
import {
  CertificateEventType,
  type WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { type CommandSpec, UsageError } from "../command";
import type { Invocation } from "../invocation";
import { LineageFiles } from "../lineage-files";
import { codeName } from "../rpc-error";
import { eventJson, eventLine } from "../views/certificate-event";

type Scope = WatchCertificatesRequest["scope"];

/** Codes after which the same watch may succeed later (the cursor makes the retry exact). */
const RETRYABLE = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.INTERNAL,
]);
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/** Events that deliver a certificate of the lineage to keep on disk. */
const DELIVERS = new Set([
  CertificateEventType.CERTIFICATE_EVENT_TYPE_CURRENT,
  CertificateEventType.CERTIFICATE_EVENT_TYPE_ISSUED,
  CertificateEventType.CERTIFICATE_EVENT_TYPE_RENEWED,
]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id the watch names (WatchCertificatesRequest.certificate_id takes ids only): a serial
 * number is looked up with GetCurrentCertificate, which issuers may call (GetCertificate is for
 * admins and auditors); its answer is the lineage's newest certificate, whose lineage is the same.
 */
async function certificateIdOf(inv: Invocation, named: string): Promise<string> {
  if (UUID.test(named)) return named;
  const res = await inv.rpc(inv.clients.certificates, "getCurrentCertificate", {
    certificate: named,
  });
  return res.certificate!.id;
}

interface WatchPlan {
  scope: Scope;
  cursor: string;
  files?: LineageFiles;
  keepalives: boolean;
  /** Retry when the server cannot be reached at first too (a sidecar started before it). */
  retryFromStart: boolean;
}

/** Writes (with --out-dir) and prints one event. */
function handleEvent(inv: Invocation, plan: WatchPlan, event: WatchCertificatesResponse): void {
  const keepalive = event.type === CertificateEventType.CERTIFICATE_EVENT_TYPE_KEEPALIVE;
  if (keepalive && !plan.keepalives) return;
  if (plan.files && event.certificate && DELIVERS.has(event.type)) {
    plan.files.writeCertificate(event.certificate, event.privateKeyPem);
  }
  if (plan.files && event.cursor && !keepalive) plan.files.saveCursor(event.cursor);
  inv.print(inv.output === "json" ? eventJson(event) : eventLine(event));
}

/** Runs the watch until a signal (resolves) or a failure not worth retrying (rejects). */
function watchUntilStopped(inv: Invocation, plan: WatchPlan): Promise<void> {
  return new Promise((resolve, reject) => {
    let stream: ClientReadableStream<WatchCertificatesResponse> | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let finished = false;
    let reached = plan.retryFromStart;
    let backoffMs = FIRST_BACKOFF_MS;
    let cursor = plan.cursor;

    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(retryTimer);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      stream?.cancel();
      if (err === undefined) resolve();
      else reject(err);
    };
    const stop = () => finish();
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);

    const reconnect = (why: string) => {
      // A watch "from now" has a cursor from its first message (a KEEPALIVE, or a lineage's
      // CURRENT) since stop 43 of 2026-12-06; one that ended before any message resumes from
      // now again.
      const from = cursor ? `after cursor ${cursor}` : "from now";
      inv.note(`watch ended (${why}); reconnecting in ${backoffMs} ms, ${from}`);
      retryTimer = setTimeout(open, backoffMs);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    };

    function open(): void {
      const s = inv.clients.certificates.watchCertificates({
        scope: plan.scope,
        afterCursor: cursor,
      });
      stream = s;
      s.on("metadata", () => {
        reached = true;
      });
      s.on("data", (event: WatchCertificatesResponse) => {
        if (finished) return;
        reached = true;
        backoffMs = FIRST_BACKOFF_MS;
        try {
          handleEvent(inv, plan, event);
        } catch (err) {
          finish(err); // a file that cannot be written: stop rather than skip a certificate
          return;
        }
        if (event.cursor) cursor = event.cursor;
      });
      s.on("error", (err: ServiceError) => {
        if (finished || s !== stream) return;
        if (reached && RETRYABLE.has(err.code)) reconnect(`${codeName(err.code)}: ${err.details}`);
        else finish(err);
      });
      // A stream the server ends with OK (it should not): watch again from the cursor.
      s.on("status", (st: { code: number }) => {
        if (!finished && s === stream && st.code === status.OK) reconnect("the server ended it");
      });
    }
    open();
  });
}

export const certWatch: CommandSpec = {
  name: "watch",
  summary: "follow certificates as they are issued, renewed (also by certmint) and revoked",
  description:
    "Watches one certificate and every successor that renews it (CERTIFICATE; the first event is " +
    "CURRENT, the lineage's newest certificate), every certificate of a profile (--profile), or " +
    "everything the token may see. Prints one line per event (--output json: one JSON object " +
    "per line): its type, cursor, and the certificate's serial number, id and notAfter. " +
    "With --out-dir it keeps cert.pem, chain.pem, key.pem (mode 0600, when the event carries " +
    "the key: certmint generated it and the token owns the certificate) and cursor in DIR, each " +
    "replaced atomically, as a sidecar does. When the stream ends (the server stopping: " +
    "UNAVAILABLE) it reconnects from the last cursor, missing nothing and repeating nothing. " +
    "Ctrl-C or SIGTERM ends it with exit code 0.",
  positionals: [
    {
      name: "CERTIFICATE",
      description: "watch this certificate's lineage, by id or serial number",
      optional: true,
    },
  ],
  options: [
    {
      title: "Watch",
      specs: {
        profile: {
          type: "string",
          value: "PROFILE",
          description: "watch every certificate of this profile (id or slug)",
        },
        cursor: {
          type: "string",
          value: "CURSOR",
          description:
            "resume right after this event's cursor (default: --out-dir's saved cursor, else from now)",
        },
        "out-dir": {
          type: "string",
          value: "DIR",
          description:
            "keep the lineage's newest cert.pem, chain.pem, key.pem and cursor in DIR (needs CERTIFICATE)",
        },
        keepalives: {
          type: "boolean",
          description: "print the KEEPALIVE events idle streams get too",
        },
      },
    },
  ],
  outputs: ["table", "json"],
  examples: [
    "certmint cert watch 6f1c0a5e-... --out-dir /run/svc-tls",
    "certmint cert watch --profile web --output json",
  ],
  async run(inv) {
    const a = inv.args;
    const named = a.positionals[0];
    const profile = a.string("profile");
    const outDir = a.string("out-dir");
    if (named !== undefined && profile !== undefined) {
      throw new UsageError("name a CERTIFICATE or --profile, not both");
    }
    if (outDir !== undefined && named === undefined) {
      throw new UsageError("--out-dir keeps one lineage's files: name the CERTIFICATE to watch");
    }
    const files = outDir === undefined ? undefined : new LineageFiles(outDir);
    let scope: Scope;
    if (named !== undefined)
      scope = { $case: "certificateId", value: await certificateIdOf(inv, named) };
    else if (profile !== undefined) scope = { $case: "certificateProfile", value: profile };
    await watchUntilStopped(inv, {
      scope,
      cursor: a.string("cursor") ?? files?.savedCursor() ?? "",
      files,
      keepalives: a.flag("keepalives") === true,
      retryFromStart: files !== undefined,
    });
  },
};
