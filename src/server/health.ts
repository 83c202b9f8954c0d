import {
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { service as healthService, type ServingStatus } from "grpc-health-check";
import { toServiceError } from "../api/errors";
import { CERTMINT_SERVICES } from "../api/services";
import { invalidField } from "../errors";

/**
 * The services whose health is reported; "" is the server as a whole (grpc.health.v1). Every
 * certmint service, from the list registerServices registers (api/services.ts): until stop 43
 * of 2026-12-06 this was a list of its own that had missed AccessTokenService and AuditService
 * when they were added, and a per-service health check of either (Envoy, Istio) got NOT_FOUND
 * (an outside probe).
 */
export const HEALTH_SERVICES: readonly string[] = ["", ...CERTMINT_SERVICES.map(([name]) => name)];

/**
 * The liveness check's service name: SERVING for as long as the process answers, whatever the
 * database: for a liveness probe, which restarts a process that fails it. The others (and "")
 * are readiness: NOT_SERVING while migrations wait or run and while PostgreSQL does not answer,
 * when a restart would only start them over (until stop 41 of 2026-12-06 the README advised ""
 * for liveness too, and a probe restarted replicas in the middle of a long migration: an
 * outside probe).
 */
export const LIVENESS_SERVICE = "certmint.liveness";

/** How much of an unknown service name a NOT_FOUND repeats. */
const NAME_SHOWN = 128;

/**
 * The longest service name asked about: a gRPC service's full name is a few dozen characters.
 * A Watch keeps its request for as long as it is open, and needs no credential: until stop 51
 * of 2026-12-07 each kept a name of up to 4 MiB (CERTMINT_MAX_MESSAGE_BYTES), and 56 such
 * watches (224 KB sent, compressed) ended a server with a 256 MiB heap (an outside probe,
 * LATENCY F2). Longer is INVALID_ARGUMENT, for Check too.
 */
export const HEALTH_SERVICE_NAME_MAX = 512;

interface HealthRequest {
  service: string;
}
interface HealthResponse {
  status: ServingStatus | "SERVICE_UNKNOWN";
}

/**
 * grpc.health.v1: NOT_SERVING until migrations ran, SERVING, then NOT_SERVING at shutdown.
 *
 * The handlers are certmint's, on grpc-health-check's service definition, instead of that
 * package's HealthImplementation, for two things an outside probe found (2026-12-05):
 *  - an open Watch never ended, so one `grpcurl ... Health/Watch` held every graceful stop for
 *    the whole grace period (11.3 s against 1.5 s idle), and was then cut CANCELLED. At
 *    shutdown a Watch is now sent NOT_SERVING and ended UNAVAILABLE, as WatchCertificates is;
 *  - a NOT_FOUND repeated the requested service name whole, in the status trailer: a 200 KB
 *    name made a trailer grpc-js clients cannot read, and they hung until their deadline.
 */
export class HealthReporter {
  private readonly statuses = new Map<string, ServingStatus>([
    ...HEALTH_SERVICES.map((s): [string, ServingStatus] => [s, "NOT_SERVING"]),
    [LIVENESS_SERVICE, "SERVING"],
  ]);
  /** Each open Watch, with the status it was last sent. */
  private readonly watches = new Set<{
    service: string;
    call: ServerWritableStream<HealthRequest, HealthResponse>;
    sent: HealthResponse["status"];
  }>();
  private ended = false;

  addToServer(server: Server): void {
    server.addService(healthService, {
      check: (
        call: ServerUnaryCall<HealthRequest, HealthResponse>,
        callback: sendUnaryData<HealthResponse>,
      ) => {
        if (call.request.service.length > HEALTH_SERVICE_NAME_MAX) {
          callback(nameTooLong(call.request.service));
          return;
        }
        const known = this.statuses.get(call.request.service);
        if (known) callback(null, { status: known });
        else callback({ code: status.NOT_FOUND, details: unknownService(call.request.service) });
      },
      watch: (call: ServerWritableStream<HealthRequest, HealthResponse>) => {
        const service = call.request.service;
        if (service.length > HEALTH_SERVICE_NAME_MAX) {
          call.emit("error", nameTooLong(service));
          return;
        }
        if (this.ended) {
          call.emit("error", stopping());
          return;
        }
        const sent: HealthResponse["status"] = this.statuses.get(service) ?? "SERVICE_UNKNOWN";
        const watch = { service, call, sent };
        this.watches.add(watch);
        call.on("cancelled", () => this.watches.delete(watch));
        call.write({ status: watch.sent });
      },
      list: (
        _call: ServerUnaryCall<unknown, unknown>,
        callback: sendUnaryData<{ statuses: Record<string, HealthResponse> }>,
      ) => {
        const statuses: Record<string, HealthResponse> = {};
        for (const [service, s] of this.statuses) statuses[service] = { status: s };
        callback(null, { statuses });
      },
    });
  }

  /**
   * The readiness of every service but the liveness one. A Watch is sent a status only when it
   * differs from the one it was last sent: grpc.health.v1 Watch streams "a new message whenever
   * the service's serving status changes" (health.proto). Until stop 47 of 2026-12-06 every
   * set() wrote to every Watch, so at shutdown a watch of certmint.liveness, which stays
   * SERVING, got SERVING twice before UNAVAILABLE (an outside probe, R, LOW-6), and a
   * database check that found PostgreSQL reachable again re-sent SERVING to watches already
   * told.
   */
  set(state: ServingStatus): void {
    for (const s of HEALTH_SERVICES) this.statuses.set(s, state);
    for (const watch of this.watches) {
      const s = this.statuses.get(watch.service);
      if (s === undefined || s === watch.sent) continue;
      watch.sent = s;
      watch.call.write({ status: s });
    }
  }

  /**
   * At shutdown, after set("NOT_SERVING"): every Watch ends UNAVAILABLE once its NOT_SERVING is
   * written, and a Watch opened from now on is refused the same way, so none holds the drain.
   */
  endWatches(): void {
    this.ended = true;
    for (const { call } of this.watches) call.emit("error", stopping());
    this.watches.clear();
  }
}

function nameTooLong(name: string) {
  return toServiceError(
    invalidField(
      "HEALTH_SERVICE_NAME_TOO_LONG",
      `the service name is ${name.length} characters long; a service's full name is at most ${HEALTH_SERVICE_NAME_MAX} here (e.g. "certmint.v1.CertificateService", or "" for the server)`,
      "service",
      `at most ${HEALTH_SERVICE_NAME_MAX} characters`,
    ),
  );
}

function unknownService(name: string): string {
  const shown = name.length > NAME_SHOWN ? `${name.slice(0, NAME_SHOWN)}...` : name;
  return `health status unknown for service ${JSON.stringify(shown)}`;
}

const stopping = () => ({
  code: status.UNAVAILABLE,
  details: "the server is stopping; watch again (another replica, or this one once restarted)",
});
