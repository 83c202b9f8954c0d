/**
 * One line per WatchCertificates event: a text line, or one JSON object per line (so a
 * script reads the stream line by line). Neither carries PEM: certificates and keys go to files
 * (cert watch --out-dir), never to stdout.
 */
import {
  certificateEventTypeToJSON,
  type WatchCertificatesResponse,
} from "../../../gen/ts/certmint/v1/certificate_service";
import { terminalValue } from "../output";
import { codeName } from "../rpc-error";
import { formatTime } from "../values";

/** "RENEWED cursor=42 serial=0a1b... id=6f1c... not_after=2026-...": type first, then key=value. */
export function eventLine(event: WatchCertificatesResponse): string {
  const c = event.certificate;
  const type = certificateEventTypeToJSON(event.type).replace("CERTIFICATE_EVENT_TYPE_", "");
  const cells = [type, `cursor=${event.cursor}`];
  if (c) {
    cells.push(`serial=${c.serialNumber}`, `id=${c.id}`, `not_after=${formatTime(c.notAfter)}`);
  }
  if (event.previousCertificateId) cells.push(`renews=${event.previousCertificateId}`);
  if (event.privateKeyPem) cells.push("key=included");
  if (event.error) cells.push(`error="${codeName(event.error.code)}: ${event.error.message}"`);
  // One line per event whatever the server's text holds (output.ts terminalValue).
  return `${cells.map(terminalValue).join(" ")}\n`;
}

/** The JSON line: the event's fields a script acts on, names as in the proto's JSON. */
export function eventJson(event: WatchCertificatesResponse): string {
  const c = event.certificate;
  const out: Record<string, unknown> = {
    type: certificateEventTypeToJSON(event.type),
    cursor: event.cursor,
    eventTime: event.eventTime?.toISOString(),
  };
  if (c) {
    out.certificateId = c.id;
    out.serialNumber = c.serialNumber;
    out.notAfter = c.notAfter?.toISOString();
    out.certificateProfileId = c.certificateProfileId;
  }
  if (event.previousCertificateId) out.previousCertificateId = event.previousCertificateId;
  if (event.privateKeyPem) out.privateKeyIncluded = true;
  if (event.error) out.error = { code: codeName(event.error.code), message: event.error.message };
  return `${JSON.stringify(out)}\n`;
}
