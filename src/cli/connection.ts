/**
 * The connection settings of one invocation, from the connection options and the environment:
 * address, plaintext or TLS (with an optional client certificate), the access token and its
 * source, and the per-call deadline.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_SERVER, isLoopbackHost, parseServerAddress } from "./address";
import type { Args } from "./args";
import { CliError, UsageError } from "./command";
import { assertTrustedTokenFile } from "./trusted-path";
import { parseDurationSeconds } from "./values";

export type Transport =
  | { kind: "plaintext" }
  | { kind: "tls"; rootCerts?: Buffer; keyPem?: Buffer; certPem?: Buffer; serverName?: string };

export interface ConnectionSettings {
  /** The address as given (for messages). */
  server: string;
  /** host:port for grpc-js. */
  target: string;
  transport: Transport;
  /** The bearer token and where it came from (for messages, never the token itself). */
  token?: {
    secret: string;
    source: string;
    /**
     * The data directory's admin token, found by the CLI itself, to a plaintext loopback
     * server: sent only to a server process of one of these uids (loopback-peer.ts).
     */
    localServer?: { dataDir: string; uids: number[] };
  };
  deadlineMs: number;
}

const DEFAULT_DEADLINE_SECONDS = 60;

export function resolveConnection(args: Args, env: NodeJS.ProcessEnv): ConnectionSettings {
  const given = args.string("server");
  const server = given ?? (env.CERTMINT_SERVER || DEFAULT_SERVER);
  const { host, target } = parseServerAddress(
    server,
    given === undefined && env.CERTMINT_SERVER ? "$CERTMINT_SERVER" : "--server",
  );
  const loopback = isLoopbackHost(host);
  const transport = resolveTransport(args, loopback);
  const timeout = args.string("timeout");
  return {
    server,
    target,
    transport,
    token: resolveToken(args, env, loopback, transport),
    deadlineMs:
      (timeout ? parseDurationSeconds(timeout, "timeout") : DEFAULT_DEADLINE_SECONDS) * 1000,
  };
}

function resolveTransport(args: Args, loopback: boolean): Transport {
  const caFile = args.string("ca-file");
  const certFile = args.string("cert-file");
  const keyFile = args.string("key-file");
  const serverName = args.string("tls-server-name");
  const wantsTls = args.flag("tls") === true || caFile || certFile || keyFile || serverName;
  if (args.flag("insecure")) {
    if (wantsTls) {
      throw new UsageError(
        "--insecure (plaintext) contradicts --tls, --ca-file, --cert-file, --key-file and --tls-server-name",
      );
    }
    return { kind: "plaintext" };
  }
  if (!wantsTls && loopback) return { kind: "plaintext" };
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError(
      "--cert-file and --key-file go together (the client certificate and its key)",
    );
  }
  return {
    kind: "tls",
    ...(caFile ? { rootCerts: readFile(caFile, "--ca-file") } : {}),
    ...(certFile ? { certPem: readFile(certFile, "--cert-file") } : {}),
    ...(keyFile ? { keyPem: readFile(keyFile, "--key-file") } : {}),
    ...(serverName ? { serverName } : {}),
  };
}

/**
 * The token, first found: --token-file, $CERTMINT_TOKEN, and only for a loopback server reached
 * without a client certificate (a bearer token would override the certificate's identity), the
 * admin-token file of the local data directory. The token never comes from argv: `ps` shows argv.
 * A token file another local user could have written is refused (UsageError), the admin token
 * also when its data directory is writable by group or others: until 2026-12-05 (probe39 F2) a
 * ./data/admin-token planted in a shared working directory made the operator's commands run as
 * the planter's token, who then received the private keys certmint generated for them.
 */
function resolveToken(
  args: Args,
  env: NodeJS.ProcessEnv,
  loopback: boolean,
  transport: Transport,
): ConnectionSettings["token"] {
  const tokenFile = args.string("token-file");
  if (tokenFile !== undefined) {
    assertTrustedTokenFile(
      tokenFile,
      `--token-file ${tokenFile}`,
      "keep the token in a file only you (or root) can change: chown it to yourself, chmod 600 it, in a directory others cannot write",
    );
    return { secret: readToken(tokenFile, "--token-file"), source: tokenFile };
  }
  if (env.CERTMINT_TOKEN) {
    return {
      secret: tokenShaped(env.CERTMINT_TOKEN.trim(), "$CERTMINT_TOKEN"),
      source: "$CERTMINT_TOKEN",
    };
  }
  const explicitDir = args.string("data-dir");
  if (!loopback) {
    if (explicitDir !== undefined) {
      throw new UsageError(
        "--data-dir: the local admin token is only sent to a server on this machine (a loopback address); use --token-file",
      );
    }
    return undefined;
  }
  if (transport.kind === "tls" && transport.certPem) return undefined;
  const dir = explicitDir ?? (env.CERTMINT_DATA_DIR || "data");
  const file = join(dir, "admin-token");
  if (!existsSync(file)) {
    if (explicitDir !== undefined) throw new CliError(`--data-dir: ${file} does not exist`);
    return undefined;
  }
  const from =
    explicitDir !== undefined
      ? "--data-dir"
      : env.CERTMINT_DATA_DIR
        ? "$CERTMINT_DATA_DIR"
        : "./data, the default data directory";
  assertTrustedTokenFile(
    file,
    `the admin token ${resolve(file)} (from ${from})`,
    "pass --token-file FILE or set CERTMINT_TOKEN, or use a data directory only you (or root) can change",
    dir,
  );
  return {
    secret: readToken(file, "the admin token"),
    source: file,
    ...(transport.kind === "plaintext" ? { localServer: localServerOf(dir) } : {}),
  };
}

/**
 * Who may receive the data directory's admin token in plaintext: a server process of the data
 * directory's owner (who wrote the token), of this user, or of root; never another local user
 * who took the port (loopback-peer.ts).
 */
function localServerOf(dir: string): { dataDir: string; uids: number[] } {
  const uids = new Set<number>([0, statSync(dir).uid]);
  const own = process.geteuid?.();
  if (own !== undefined) uids.add(own);
  return { dataDir: resolve(dir), uids: [...uids] };
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(
      `${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

function readToken(path: string, what: string): string {
  const secret = readFile(path, what).toString("utf8").trim();
  if (!secret) throw new CliError(`${what}: ${path} is empty`);
  return tokenShaped(secret, `${what} ${path}`);
}

/**
 * A token is printable ASCII without spaces (a gRPC metadata value, RFC 6750's token68).
 * Anything else (a key or certificate file named by mistake, a value with a line break) is
 * refused here, before it is sent and without being shown: until stop 49 of 2026-12-06 grpc-js
 * refused it after the whole --timeout, and its message, printed, held the whole value (a
 * private key, or the token itself: an outside probe).
 */
function tokenShaped(secret: string, from: string): string {
  if (/^[\x21-\x7e]+$/.test(secret)) return secret;
  throw new UsageError(
    `${from} does not hold an access token (it has line breaks, spaces or other characters no token has: a key or certificate file?); its content is not shown`,
  );
}
