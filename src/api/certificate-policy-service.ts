import type { CertificatePolicyServiceServer } from "../../gen/ts/certmint/v1/certificate_policy_service";
import type { IssuanceDeps } from "../issuance/deps";
import type { HandlerDeps } from "./unary";

/** Thin handlers for certmint.v1.CertificatePolicyService (methods not listed answer UNIMPLEMENTED). */
export function certificatePolicyHandlers(
  _deps: HandlerDeps,
  _issuance: () => IssuanceDeps,
): Partial<CertificatePolicyServiceServer> {
  return {};
}
