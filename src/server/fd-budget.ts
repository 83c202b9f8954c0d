/**
 * The file descriptors a certmint process may open (RLIMIT_NOFILE, `ulimit -n`) against what its
 * connection caps let clients take. Every open connection of every port is a descriptor, and so
 * are the database's: PostgreSQL connections of the pool, or, embedded, PGlite's files in this
 * very process. At the limit the kernel refuses new descriptors (EMFILE) to whoever asks next:
 * libuv closes new connections without a word, a call needing a new database connection fails,
 * a key-generation thread cannot start, and the embedded database fails to create a file
 * half-way (Emscripten leaves the file behind, so PostgreSQL's retry finds it existing) and then
 * fails every later insert into that table with INTERNAL until a restart
 * (test/probe/fd-limit-embedded.test.ts). The connection caps are what keeps clients from
 * getting there: they must leave room for everything else.
 *
 * CERTMINT_MAX_CONNECTIONS used to default to 1000 per port whatever the limit: two ports at a
 * `ulimit -n` of 1024 could be filled past it by connections alone. Unset, it is now lowered to
 * the room the limit leaves; set, it is kept, with a warning at start-up when it exceeds it.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { type Config, ENV } from "../config";
import { EMBEDDED_MAX_FILES } from "../store/embedded-postgres";

/** CERTMINT_MAX_CONNECTIONS when it is not set and the limit leaves room for it. */
export const DEFAULT_MAX_CONNECTIONS = 1000;

/**
 * Descriptors kept for everything but connections and the database: stdin/stdout/stderr, Node's
 * own (epoll, eventfds, signal pipes, libuv's spare descriptor for EMFILE), the listening
 * sockets and files opened while serving (TLS files re-read, the KEK, the admin token). ACME
 * validations are counted apart (reservedDescriptors).
 */
export const BASE_DESCRIPTORS = 64;

/** A worker thread's event loop (epoll, eventfds), measured on Node 20. */
export const DESCRIPTORS_PER_THREAD = 4;

/** The soft RLIMIT_NOFILE of this process (Linux: /proc/self/limits); undefined if unknown. */
export function fileDescriptorLimit(limitsFile = "/proc/self/limits"): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, "utf8");
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
}

/** The descriptors a process of `config` needs besides its ports' connections. */
export function reservedDescriptors(config: Config): number {
  // The pool, and one LISTEN connection of the event pump; embedded, PGlite's open files.
  const database = config.databaseUrl ? config.databasePoolSize + 1 : EMBEDDED_MAX_FILES;
  const threads = config.keyGeneration.workers + config.csrWorkers;
  // Each ACME validation connecting out holds one socket (CERTMINT_ACME_MAX_VALIDATIONS; a
  // queued one holds none, acme/validation/slots.ts).
  const validations = config.acme?.maxValidations ?? 0;
  return BASE_DESCRIPTORS + database + threads * DESCRIPTORS_PER_THREAD + validations;
}

/** The listening ports whose connections count against CERTMINT_MAX_CONNECTIONS each. */
export function cappedPorts(config: Config): number {
  return 1 + [config.publicationListen, config.acme, config.metricsListen].filter(Boolean).length;
}

/**
 * `config` with a cap of connections per port that keeps the process below `limit` descriptors:
 * unset, CERTMINT_MAX_CONNECTIONS becomes the room the limit leaves per port (at most 1000, at
 * least 1), logged when that is below 1000; set, it is kept, and a warning says when the ports
 * full would take the process past its limit. An unknown limit changes nothing.
 */
export function fitConnectionsToFdLimit(
  config: Config,
  limit: number | undefined,
  logger: Logger,
): Config {
  if (limit === undefined) return config;
  const reserved = reservedDescriptors(config);
  const ports = cappedPorts(config);
  const room = Math.floor((limit - reserved) / ports);
  const fields = { fileDescriptorLimit: limit, reserved, ports };
  if (config.maxConnectionsSet) {
    const needed = config.connections.maxConnections * ports + reserved;
    if (needed > limit) {
      logger.warn(
        { ...fields, maxConnections: config.connections.maxConnections, needed },
        `${ENV.maxConnections} lets clients take more file descriptors than this process may open (ulimit -n): at the limit new connections are closed without a word and calls that need a database connection, a file or a thread fail; set it to at most ${Math.max(1, room)} or raise the limit (LimitNOFILE=)`,
      );
    }
    return config;
  }
  if (room >= DEFAULT_MAX_CONNECTIONS) return config;
  const maxConnections = Math.max(1, room);
  (room < 1 ? logger.warn : logger.info).call(
    logger,
    { ...fields, maxConnections },
    room < 1
      ? `this process may open too few file descriptors (ulimit -n) for its database and threads: ${ENV.maxConnections} is 1 per port; raise the limit (LimitNOFILE=)`
      : `${ENV.maxConnections} is ${maxConnections} per port, not ${DEFAULT_MAX_CONNECTIONS}: what this process's file-descriptor limit (ulimit -n) leaves beside the database and threads; raise the limit (LimitNOFILE=) for more`,
  );
  return Object.freeze({
    ...config,
    connections: Object.freeze({ ...config.connections, maxConnections }),
  });
}
