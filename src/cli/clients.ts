/** The generated gRPC clients of every certmint service, on one channel's settings. */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  credentials,
  InterceptingCall,
  type Interceptor,
  Metadata,
  status,
} from "@grpc/grpc-js";
import { AccessTokenServiceClient } from "../../gen/ts/certmint/v1/access_token_service";
import { AuditServiceClient } from "../../gen/ts/certmint/v1/audit_service";
import { CertificateAuthorityServiceClient } from "../../gen/ts/certmint/v1/certificate_authority_service";
import { CertificatePolicyServiceClient } from "../../gen/ts/certmint/v1/certificate_policy_service";
import { CertificateProfileServiceClient } from "../../gen/ts/certmint/v1/certificate_profile_service";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import type { ConnectionSettings } from "./connection";
import { loopbackPeerUids } from "./loopback-peer";

export interface CertmintClients {
  certificates: CertificateServiceClient;
  authorities: CertificateAuthorityServiceClient;
  policies: CertificatePolicyServiceClient;
  profiles: CertificateProfileServiceClient;
  accessTokens: AccessTokenServiceClient;
  audit: AuditServiceClient;
}

/** Sends `authorization: Bearer <token>` on every call. */
function bearer(token: NonNullable<ConnectionSettings["token"]>, target: string): Interceptor {
  const { secret, localServer } = token;
  if (!localServer) {
    return (options, next) =>
      new InterceptingCall(next(options), {
        start(metadata, listener, start) {
          metadata.set("authorization", `Bearer ${secret}`);
          start(metadata, listener);
        },
      });
  }
  // Call credentials run once the connection is up (grpc-js generates them after it picks a
  // READY connection, before the call's first byte), so the check sees the process that
  // accepted this very connection, on every call and every reconnect of a watch.
  const port = Number(/:(\d+)$/.exec(target)?.[1]);
  const callCredentials = credentials.createFromMetadataGenerator((_params, callback) => {
    const refusal = refuseStrangeServer(localServer, target, port);
    if (refusal) {
      callback(Object.assign(new Error(refusal), { code: status.PERMISSION_DENIED }));
      return;
    }
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${secret}`);
    callback(null, metadata);
  });
  return (options, next) =>
    new InterceptingCall(next({ ...options, credentials: callCredentials }));
}

/** Why the admin token must not go to the process at the other end, or undefined. */
function refuseStrangeServer(
  localServer: { dataDir: string; uids: number[] },
  target: string,
  port: number,
): string | undefined {
  const peers = loopbackPeerUids(port);
  // Not Linux: the kernel does not say who listens; the README says so.
  if (peers === undefined) return undefined;
  const what = `not sending the admin token of ${localServer.dataDir} to ${target}`;
  if (peers.length === 0) {
    return `${what}: cannot tell which process accepted the connection (not in /proc/net/tcp: another network namespace?); pass the token explicitly with --token-file if you trust that server`;
  }
  const strangers = peers.filter((uid) => !localServer.uids.includes(uid));
  if (strangers.length > 0) {
    return `${what}: the process listening there belongs to uid ${strangers.join(", ")}, not to the data directory's owner or root (uid ${localServer.uids.join(", ")}): another local user may hold the port while certmint is down`;
  }
  return undefined;
}

function channelCredentials(settings: ConnectionSettings): ChannelCredentials {
  const t = settings.transport;
  if (t.kind === "plaintext") return credentials.createInsecure();
  return credentials.createSsl(t.rootCerts ?? null, t.keyPem ?? null, t.certPem ?? null);
}

export function makeClients(settings: ConnectionSettings): CertmintClients {
  const creds = channelCredentials(settings);
  const options: ChannelOptions & { interceptors?: Interceptor[] } = {};
  if (settings.token) options.interceptors = [bearer(settings.token, settings.target)];
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
