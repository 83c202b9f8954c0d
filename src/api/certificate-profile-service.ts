import type { CertificateProfileServiceServer } from "../../gen/ts/certmint/v1/certificate_profile_service";
import type { IssuanceDeps } from "../issuance/deps";
import type { HandlerDeps } from "./unary";

/** Thin handlers for certmint.v1.CertificateProfileService (methods not listed answer UNIMPLEMENTED). */
export function certificateProfileHandlers(
  _deps: HandlerDeps,
  _issuance: () => IssuanceDeps,
): Partial<CertificateProfileServiceServer> {
  return {};
}
