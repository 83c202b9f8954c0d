import { createHmac } from "node:crypto";
import type { ServiceError } from "@grpc/grpc-js";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details";
import { Status } from "../../gen/ts/google/rpc/status";
import { AcmeTestClient, b64u, publicJwk } from "./jws-client";

/**
 * newAccount with an External Account Binding (RFC 8555 7.3.4) of `key`: the binding's JWS
 * (HS256, kid the key id, url newAccount) over the account's public key, MACed with the key's
 * HMAC key as CreateAcmeExternalAccountKey returned it.
 */
export async function registerWithEab(
  directoryUrl: string,
  caFile: string,
  key: { keyId: string; hmacKey: string },
) {
  const c = new AcmeTestClient(directoryUrl, caFile);
  await c.directory();
  const protectedB64 = b64u(
    JSON.stringify({ alg: "HS256", kid: key.keyId, url: c.dir.newAccount }),
  );
  const payloadB64 = b64u(JSON.stringify(publicJwk(c.key.publicKey)));
  const signature = createHmac("sha256", Buffer.from(key.hmacKey, "base64url"))
    .update(`${protectedB64}.${payloadB64}`)
    .digest();
  const r = await c.register({
    externalAccountBinding: {
      protected: protectedB64,
      payload: payloadB64,
      signature: b64u(signature),
    },
  });
  return { c, r, accountId: r.status === 201 ? c.kid!.split("/").at(-1)! : undefined };
}

/** The google.rpc.ErrorInfo of a failed call (reason and metadata), read from its status details. */
export async function errorInfoOf(
  promise: Promise<unknown>,
): Promise<{ code: number; reason: string; metadata: Record<string, string> }> {
  try {
    await promise;
  } catch (err) {
    const e = err as ServiceError;
    const raw = e.metadata?.get("grpc-status-details-bin")[0];
    const info = raw
      ? Status.decode(raw as Buffer).details.find((d) => d.typeUrl.endsWith(".ErrorInfo"))
      : undefined;
    const decoded = info ? ErrorInfo.decode(info.value) : undefined;
    return { code: e.code, reason: decoded?.reason ?? "", metadata: decoded?.metadata ?? {} };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** The DER of a PEM object (a CSR for finalize, RFC 8555 7.4: base64url of the DER). */
export const pemToDer = (pem: string): Buffer =>
  Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
