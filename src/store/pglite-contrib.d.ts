/**
 * PGlite publishes its contrib extensions through package "exports", which TypeScript's "node"
 * module resolution does not read; Node resolves them at run time. Declare the one we load.
 */
declare module "@electric-sql/pglite/contrib/pg_trgm" {
  import type { Extension } from "@electric-sql/pglite";
  export const pg_trgm: Extension;
}
