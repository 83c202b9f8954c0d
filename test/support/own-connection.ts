import { type ChannelOptions, credentials } from "@grpc/grpc-js";
import { CertificateServiceClient } from "../../gen/ts/certmint/v1/certificate_service";
import { bearer } from "./harness";

/**
 * Channel options for a client on an HTTP/2 connection of its own: grpc-js otherwise shares
 * one connection per address, and a supervisor hands connections, not calls, to its workers.
 */
export const OWN_CONNECTION: ChannelOptions = { "grpc.use_local_subchannel_pool": 1 };

/** A CertificateService client on a connection of its own, sending `token`. */
export function certificateClientOnOwnConnection(
  address: string,
  token: string,
): CertificateServiceClient {
  return new CertificateServiceClient(address, credentials.createInsecure(), {
    ...OWN_CONNECTION,
    interceptors: [bearer(token)],
  });
}
