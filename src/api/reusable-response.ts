/**
 * Responses sent many times unchanged, encoded once. A cached CRL of 10^5 entries is a 5 MB
 * DER plus its 6.7 MB PEM: encoding that message on every GetCertificateRevocationList call
 * (base64, UTF-8, the writer's chunks, grpc-js's copy) allocated about 50 MB per call and, at
 * 10^6 stored certificates, made a call served "from the cache" take 330 ms of the server's
 * core, mostly in the garbage collector (bench/scale). A handler marks such a message with
 * reusableResponse and returns the same object while it holds; its bytes are kept beside it
 * (weakly: they go when the message does), framed as gRPC sends a message (a flag octet and a
 * 4-octet length, gRPC's HTTP/2 protocol "Length-Prefixed-Message"), so that the same buffer is
 * written to every stream (framed-responses.ts) instead of grpc-js copying the message into a
 * frame of its own on each send: at 10^6 certificates that copy of the 11 MB CRL answer was a
 * stall of up to 128 ms of the event loop per call (bench/scale, CPU profile), and each watch
 * event was copied once per stream.
 */
/** A reusable message's frame, and its encoding within it (the same view each time). */
interface Encoded {
  framed: Buffer;
  body: Buffer;
}
const framedBytes = new WeakMap<object, Encoded | null>();

function encoded(framed: Buffer): Encoded {
  return { framed, body: framed.subarray(MESSAGE_PREFIX_BYTES) };
}

/** gRPC's message prefix: compressed flag 0, then the length (big-endian). */
export const MESSAGE_PREFIX_BYTES = 5;

/** `body` behind a gRPC message prefix, in one new buffer (what grpc-js sends). */
export function frameMessage(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(body.byteLength + MESSAGE_PREFIX_BYTES);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(body.byteLength, 1);
  out.set(body, MESSAGE_PREFIX_BYTES);
  return out;
}

/** Marks `message` as sent unchanged for as long as the caller keeps returning it. */
export function reusableResponse<T extends object>(message: T): T {
  if (!framedBytes.has(message)) framedBytes.set(message, null);
  return message;
}

/**
 * A response serializer that encodes a reusable message once and plain ones every time. A
 * reusable message's encoding is a view into its framed bytes, the same each time.
 */
export function encodingReusableOnce<T>(serialize: (value: T) => Buffer): (value: T) => Buffer {
  return (value: T): Buffer => {
    if (typeof value !== "object" || value === null) return serialize(value);
    const held = framedBytes.get(value);
    if (held === undefined) return serialize(value);
    if (held !== null) return held.body;
    const made = encoded(frameMessage(serialize(value)));
    framedBytes.set(value, made);
    return made.body;
  };
}

/**
 * The framed bytes of a reusable message already encoded (by encodingReusableOnce or
 * preEncodedResponse), to write as they are; undefined for any other value.
 */
export function framedResponse(value: unknown): Buffer | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  return framedBytes.get(value)?.framed;
}

/**
 * Marks `message` as sent as `framed`, an encoding its maker built (a large message assembled
 * without the generated encoder's copies, crl-response.ts) behind MESSAGE_PREFIX_BYTES left
 * free for the prefix, written here; the encoding must decode to the message.
 */
export function preEncodedResponse<T extends object>(message: T, framed: Buffer): T {
  framed.writeUInt8(0, 0);
  framed.writeUInt32BE(framed.length - MESSAGE_PREFIX_BYTES, 1);
  framedBytes.set(message, encoded(framed));
  return message;
}
