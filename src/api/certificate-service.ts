import type { CertificateServiceServer } from "../../gen/ts/certmint/v1/certificate_service";
import type { IssuanceDeps } from "../issuance/deps";
import type { HandlerDeps } from "./unary";

/** Thin handlers for certmint.v1.CertificateService (methods not listed answer UNIMPLEMENTED). */
export function certificateHandlers(
  _deps: HandlerDeps,
  _issuance: () => IssuanceDeps,
): Partial<CertificateServiceServer> {
  return {};
}
