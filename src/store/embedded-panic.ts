/**
 * Finds a PANIC in the embedded database's answers.
 *
 * PostgreSQL raises PANIC when it cannot go on safely, for example when it cannot create a WAL
 * segment (files made read-only, a full disk at that moment). A real server then restarts
 * itself from its WAL. PGlite cannot: it answers that ErrorResponse, and the next call into it
 * never returns. That is a busy loop inside WebAssembly, so the event loop stops with it
 * (seen 2026-12-05: a `select 1` after the PANIC held the process until it was killed). An
 * outside probe found the server wedged by this for good: every call waited 60 s for the one
 * connection and was then UNAVAILABLE, health said SERVING, and a SIGTERM took 139 s. So the
 * wire layer watches every answer for a PANIC (embedded-wire.ts). After one, nothing calls into
 * PGlite again, and certmint stops, exiting non-zero: a restart recovers, and every commit up to
 * the PANIC is on disk.
 */

/** The severity fields of an ErrorResponse (PostgreSQL docs 55.8): localized 'S', plain 'V'. */
const SEVERITY = 0x56; // 'V'
const ERROR_RESPONSE = 0x45; // 'E'
const MESSAGE = 0x4d; // 'M'

/**
 * Reads a stream of backend messages, in chunks cut anywhere, and remembers the first
 * ErrorResponse whose severity is PANIC. Only message headers are read, and the body of an
 * ErrorResponse; a DataRow that holds the text "PANIC" is never mistaken for one.
 */
export class PanicScanner {
  /** The PANIC's message, once one was seen. */
  panic?: string;
  /** Bytes of the current message still to skip, when not inside an ErrorResponse. */
  private skip = 0;
  /** The header (type and length) read so far, when a chunk ended inside one. */
  private header: number[] = [];
  /** The ErrorResponse being read, and how many bytes of it are still to come. */
  private error?: { bytes: Buffer[]; remaining: number };

  feed(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && this.panic === undefined) {
      if (this.error) {
        const take = Math.min(this.error.remaining, chunk.length - at);
        this.error.bytes.push(Buffer.from(chunk.subarray(at, at + take)));
        this.error.remaining -= take;
        at += take;
        if (this.error.remaining === 0) {
          this.panic = panicOf(Buffer.concat(this.error.bytes));
          this.error = undefined;
        }
        continue;
      }
      if (this.skip > 0) {
        const take = Math.min(this.skip, chunk.length - at);
        this.skip -= take;
        at += take;
        continue;
      }
      this.header.push(chunk[at]!);
      at++;
      if (this.header.length < 5) continue;
      const [type, a, b, c, d] = this.header as [number, number, number, number, number];
      this.header = [];
      // The length counts itself (4 bytes), not the type byte.
      const body = ((a << 24) | (b << 16) | (c << 8) | d) - 4;
      if (body <= 0) continue;
      if (type === ERROR_RESPONSE) this.error = { bytes: [], remaining: body };
      else this.skip = body;
    }
  }
}

/** The message of an ErrorResponse body whose severity is PANIC, else undefined. */
function panicOf(body: Buffer): string | undefined {
  let severity: string | undefined;
  let message = "";
  for (let i = 0; i < body.length && body[i] !== 0; ) {
    const end = body.indexOf(0, i + 1);
    if (end === -1) break;
    const value = body.toString("utf8", i + 1, end);
    if (body[i] === SEVERITY) severity = value;
    if (body[i] === MESSAGE) message = value;
    i = end + 1;
  }
  return severity === "PANIC" ? message || "PANIC" : undefined;
}
