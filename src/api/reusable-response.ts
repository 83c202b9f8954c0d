/**
 * Responses sent many times unchanged, encoded once. A cached CRL of 10^5 entries is a 5 MB
 * DER plus its 6.7 MB PEM: encoding that message on every GetCertificateRevocationList call
 * (base64, UTF-8, the writer's chunks, grpc-js's copy) allocated about 50 MB per call and, at
 * 10^6 stored certificates, made a call served "from the cache" take 330 ms of the server's
 * core, mostly in the garbage collector (bench/scale). A handler marks such a message with
 * reusableResponse and returns the same object while it holds; its bytes are kept beside it
 * (weakly: they go when the message does) and grpc-js copies them into its frame.
 */
const encodings = new WeakMap<object, Buffer | null>();

/** Marks `message` as sent unchanged for as long as the caller keeps returning it. */
export function reusableResponse<T extends object>(message: T): T {
  if (!encodings.has(message)) encodings.set(message, null);
  return message;
}

/** A response serializer that encodes a reusable message once and plain ones every time. */
export function encodingReusableOnce<T>(serialize: (value: T) => Buffer): (value: T) => Buffer {
  return (value: T): Buffer => {
    if (typeof value !== "object" || value === null) return serialize(value);
    const held = encodings.get(value);
    if (held === undefined) return serialize(value);
    if (held !== null) return held;
    const bytes = serialize(value);
    encodings.set(value, bytes);
    return bytes;
  };
}

/**
 * Marks `message` as sent as `bytes`, an encoding its maker built (a large message assembled
 * without the generated encoder's copies, crl-response.ts); the bytes must decode to it.
 */
export function preEncodedResponse<T extends object>(message: T, bytes: Buffer): T {
  encodings.set(message, bytes);
  return message;
}
