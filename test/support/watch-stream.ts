/**
 * A WatchCertificates stream in a test: what it received, in order, and how it ended, read as
 * they arrive (the tests wait for these states, never for durations).
 */
import type { ClientReadableStream, ServiceError } from "@grpc/grpc-js";
import {
  CertificateEventType,
  WatchCertificatesRequest,
  type WatchCertificatesResponse,
} from "../../gen/ts/certmint/v1/certificate_service";
import type { CertmintClients } from "./harness";

const KEEPALIVE = CertificateEventType.CERTIFICATE_EVENT_TYPE_KEEPALIVE;

export class WatchStream {
  readonly events: WatchCertificatesResponse[] = [];
  error?: ServiceError;
  /** The server sent its headers: the watch is checked and reading. */
  open = false;
  private readonly stream: ClientReadableStream<WatchCertificatesResponse>;

  constructor(c: CertmintClients, req: Partial<WatchCertificatesRequest>) {
    this.stream = c.certificates.watchCertificates(WatchCertificatesRequest.fromPartial(req));
    this.stream.on("metadata", () => {
      this.open = true;
    });
    this.stream.on("data", (e: WatchCertificatesResponse) => this.events.push(e));
    this.stream.on("error", (err: ServiceError) => {
      this.error = err;
    });
  }

  /** The events of one type. */
  of(type: CertificateEventType): WatchCertificatesResponse[] {
    return this.events.filter((e) => e.type === type);
  }

  /** The ids of the certificates of one type's events. */
  certificateIds(type: CertificateEventType): string[] {
    return this.of(type).map((e) => e.certificate!.id);
  }

  /** [type, certificate id] of each event but KEEPALIVEs. */
  seen() {
    return this.events
      .filter((e) => e.type !== KEEPALIVE)
      .map((e) => [e.type, e.certificate?.id] as const);
  }

  /** Whether a KEEPALIVE came after the first `count` events. */
  keepalivesAfter(count: number): boolean {
    return this.events.slice(count).some((e) => e.type === KEEPALIVE);
  }

  /** The cursor of the first KEEPALIVE at `position` or later, if one came. */
  keepaliveAtOrPast(position: number): number | undefined {
    const k = this.events.find((e) => e.type === KEEPALIVE && Number(e.cursor) >= position);
    return k && Number(k.cursor);
  }

  /** The cursors of the events received (not KEEPALIVEs). */
  eventCursors(): number[] {
    return this.events.filter((e) => e.type !== KEEPALIVE).map((e) => Number(e.cursor));
  }

  cancel(): void {
    this.stream.cancel();
  }
}
