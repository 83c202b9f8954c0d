import type { Server, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { AccessTokenServiceService } from "../../gen/ts/certmint/v1/access_token_service";
import { AuditServiceService } from "../../gen/ts/certmint/v1/audit_service";
import { CertificateAuthorityServiceService } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceService } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceService } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceService } from "../../gen/ts/certmint/v1/certificate_service";
import { CertmintError } from "../errors";
import { refusedRequest, requestChecksOf } from "./request-check";
import { encodingReusableOnce } from "./reusable-response";
import { type HandlerDeps, unary } from "./unary";

/** The full proto name of a generated service, read from its methods' paths ("/<service>/<method>"). */
function serviceName(definition: ServiceDefinition): string {
  const [name] = Object.values(definition).map((d) => d.path.split("/")[1]!);
  if (!name) throw new Error("a service without methods");
  return name;
}

/** The certmint services, by their full proto names (from the generated definitions). */
export const CERTMINT_SERVICES: Array<[string, ServiceDefinition]> = [
  CertificateServiceService,
  CertificateAuthorityServiceService,
  CertificatePolicyServiceService,
  CertificateProfileServiceService,
  AccessTokenServiceService,
  AuditServiceService,
].map((definition) => [serviceName(definition), definition]);

/**
 * Registers every certmint service. A method without a handler yet answers UNIMPLEMENTED with
 * an ErrorInfo (reason NOT_IMPLEMENTED), so clients can be written against the whole v1
 * contract today.
 */
export function registerServices(
  server: Server,
  deps: HandlerDeps,
  implemented: Record<string, object> = {},
): void {
  for (const [name, definition] of CERTMINT_SERVICES) {
    const handlers: UntypedServiceImplementation = {};
    for (const [method, def] of Object.entries(definition)) {
      const path = def.path;
      handlers[method] =
        (implemented[name] as UntypedServiceImplementation | undefined)?.[method] ??
        unary(
          path,
          async () => {
            throw new CertmintError(
              "unimplemented",
              "NOT_IMPLEMENTED",
              `${path} is not implemented yet`,
            );
          },
          deps,
        );
    }
    server.addService(checkedRequests(name, definition), handlers);
  }
}

/**
 * The service with every request held to the contract's limits before it is decoded
 * (request-check.ts): a request that breaks them reaches its handler as a refusal, which
 * `unary` throws after authentication and authorization. Responses a handler marked reusable
 * (reusable-response.ts) are encoded once.
 */
function checkedRequests(name: string, definition: ServiceDefinition): ServiceDefinition {
  const checks = requestChecksOf(name);
  const out: Record<string, ServiceDefinition[string]> = {};
  for (const [method, def] of Object.entries(definition)) {
    const check = checks.get(def.path.split("/").at(-1) ?? "");
    if (!check) throw new Error(`${def.path} is not in the descriptor image`);
    const decode = def.requestDeserialize;
    out[method] = {
      ...def,
      responseSerialize: encodingReusableOnce(def.responseSerialize),
      requestDeserialize: (bytes: Buffer) => {
        const refusal = check(bytes);
        return refusal ? refusedRequest(refusal) : decode(bytes);
      },
    };
  }
  return out as ServiceDefinition;
}
