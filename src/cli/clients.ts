/** The generated gRPC clients of every certmint service, on one channel's settings. */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  credentials,
  InterceptingCall,
  type Interceptor,
} from "@grpc/grpc-js";
import { AccessTokenServiceClient } from "../../gen/ts/certmint/v1/access_token_service";
import { AuditServiceClient } from "../../gen/ts/certmint/v1/audit_service";
import { CertificateAuthorityServiceClient } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceClient } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceClient } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import type { ConnectionSettings } from "./connection";

export interface CertmintClients {
  certificates: CertificateServiceClient;
  authorities: CertificateAuthorityServiceClient;
  policies: CertificatePolicyServiceClient;
  profiles: CertificateProfileServiceClient;
  accessTokens: AccessTokenServiceClient;
  audit: AuditServiceClient;
}

/** Sends `authorization: Bearer <token>` on every call. */
function bearer(secret: string): Interceptor {
  return (options, next) =>
    new InterceptingCall(next(options), {
      start(metadata, listener, start) {
        metadata.set("authorization", `Bearer ${secret}`);
        start(metadata, listener);
      },
    });
}

function channelCredentials(settings: ConnectionSettings): ChannelCredentials {
  const t = settings.transport;
  if (t.kind === "plaintext") return credentials.createInsecure();
  return credentials.createSsl(t.rootCerts ?? null, t.keyPem ?? null, t.certPem ?? null);
}

export function makeClients(settings: ConnectionSettings): CertmintClients {
  const creds = channelCredentials(settings);
  const options: ChannelOptions & { interceptors?: Interceptor[] } = {};
  if (settings.token) options.interceptors = [bearer(settings.token.secret)];
  if (settings.transport.kind === "tls" && settings.transport.serverName) {
    options["grpc.ssl_target_name_override"] = settings.transport.serverName;
    options["grpc.default_authority"] = settings.transport.serverName;
  }
  const t = settings.target;
  // The six clients share one channel: grpc-js pools subchannels by address and options.
  return {
    certificates: new CertificateServiceClient(t, creds, options),
    authorities: new CertificateAuthorityServiceClient(t, creds, options),
    policies: new CertificatePolicyServiceClient(t, creds, options),
    profiles: new CertificateProfileServiceClient(t, creds, options),
    accessTokens: new AccessTokenServiceClient(t, creds, options),
    audit: new AuditServiceClient(t, creds, options),
  };
}

export function closeClients(clients: CertmintClients): void {
  for (const client of Object.values(clients)) (client as Client).close();
}
