import type { Server } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";

/** The services whose health is reported; "" is the server as a whole (grpc.health.v1). */
export const HEALTH_SERVICES = [
  "",
  "certmint.v1.CertificateService",
  "certmint.v1.CertificateAuthorityService",
  "certmint.v1.CertificatePolicyService",
  "certmint.v1.CertificateProfileService",
];

/** grpc.health.v1: NOT_SERVING until migrations ran, SERVING, then NOT_SERVING at shutdown. */
export class HealthReporter {
  private readonly impl = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, "NOT_SERVING" as ServingStatus])),
  );

  addToServer(server: Server): void {
    this.impl.addToServer(server);
  }

  set(state: ServingStatus): void {
    for (const s of HEALTH_SERVICES) this.impl.setStatus(s, state);
  }
}
