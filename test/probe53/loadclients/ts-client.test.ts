/**
 * LOADCLIENTS probe (stop 53): a TypeScript service (the generated ts-proto client on grpc-js,
 * keepalive 10 s with permit-without-calls, gzip) against the compiled server over TLS at a
 * realistic volume: the phases of go-client.test.ts (live-load.ts volumeAndRollover), run in
 * this process (ts/load.ts).
 */
import { volumeAndRollover } from "./live-load";
import { rollover, volume } from "./ts/load";

volumeAndRollover("grpc-js", "ldts", (mode, env) =>
  mode === "volume" ? volume(env) : rollover(env),
);
