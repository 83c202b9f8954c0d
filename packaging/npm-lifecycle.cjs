#!/usr/bin/env node
// The root package.json's npm lifecycle scripts (scripts.prepack; scripts.prepare, where
// package.json has it). The root package.json is the server, with its dependencies: it is not a
// package to pack or to install. What is installed with npm is the CLI, packed by `make pack`
// (scripts/pack-cli.cjs, packaging/cli/package.json) into certmint-<version>.tgz; the server runs
// from a clone (make run) or a release.
//
//  - prepack (`npm pack` or `npm publish` of the clone; npm 6, yarn and pnpm also pack a package
//    installed from a git URL this way): refused, exit 1, saying what to run instead.
//  - prepare: `npm install` in the clone runs it too, and must go on (exit 0). npm 7 and later
//    run only prepare, never prepack, for a package installed from a git URL: in the clone npm
//    made for it (npm sets _PACOTE_NO_PREPARE_ there: pacote's git fetcher), and again when it
//    packs that clone for the installing project (npm_package_resolved is the clone, and
//    INIT_CWD, where npm was started, is outside it). Then it is refused as prepack is.
// Until stop 42 of 2026-12-06 the refusal was one line saying "pack the CLI with make pack",
// without where to run it or where the tarball appears, and it did not say that an install from
// a git URL is not supported.
//  - prepare in a directory install (`npm install /path/to/certmint`, a file: dependency, npm
//    link, npm install -g of the clone): npm 7 and later run prepare in that directory, linked
//    (npm_package_resolved is the string "null") or packed by pacote's directory fetcher
//    (--install-links: npm_package_resolved is the directory), with INIT_CWD and
//    npm_config_local_prefix the installing project's. Refused too, saying to run make pack in
//    that directory. A git install is told apart by where the package is: pacote's git fetcher
//    clones (or unpacks) into npm's cache, <npm_config_cache>/_cacache/tmp/git-clone<random>,
//    and prepares it there; _PACOTE_NO_PREPARE_ is only pacote's list of git dependencies being
//    prepared, inherited by every npm below it (a directory dependency of a git dependency sees
//    it too), so it marks a git install only where npm was started in this package's directory.
//  - prepare for `npx certmint` in the clone (npm_command "exec", npm's prefix the clone): npm
//    11.19 installs the clone, linked, into its npx cache to run its own bin; it goes on. Until
//    stop 48 of 2026-12-06 it was refused as a directory install, and every `npx certmint` of
//    the README failed with npm 11.19 (npm 10 ran the clone's bin without installing it).
// Until stop 44 of 2026-12-06 a directory install was refused with the git message: any
// _PACOTE_NO_PREPARE_, and any npm_package_resolved (even "null") outside INIT_CWD, was taken
// as a git install.
"use strict";
const { readFileSync } = require("node:fs");
const { isAbsolute, join, relative } = require("node:path");

const root = join(__dirname, "..");
const env = process.env;
const event = env.npm_lifecycle_event ?? process.argv[2] ?? "";

/** Whether path is dir or inside it. */
function inside(path, dir) {
  const rel = relative(dir, path);
  return rel === "" || !(rel.startsWith("..") || isAbsolute(rel));
}

/** The package's directory as npm gave it (npm_package_resolved), if npm gave one: a path. */
function resolvedDir() {
  const resolved = env.npm_package_resolved;
  if (!resolved || resolved === "null" || !isAbsolute(resolved)) return undefined;
  return resolved;
}

/** Whether dir is where pacote's git fetcher clones (or unpacks) a git dependency. */
function pacoteGitClone(dir) {
  if (env.npm_config_cache && inside(dir, join(env.npm_config_cache, "_cacache", "tmp"))) return true;
  return /[\\/]_cacache[\\/]tmp[\\/]git-clone[^\\/]*([\\/]|$)/.test(dir);
}

/** Whether npm runs this for a project installing certmint from a git URL (see above). */
function gitInstall() {
  if (pacoteGitClone(root)) return true;
  const resolved = resolvedDir();
  if (resolved && pacoteGitClone(resolved)) return true;
  // pacote's `npm install --force` in its clone: started there, with its list of git dependencies.
  if (env._PACOTE_NO_PREPARE_ && env.INIT_CWD && inside(env.INIT_CWD, root) && inside(root, env.INIT_CWD))
    return true;
  return false;
}

/** Whether this is the clone's own install (npm install or npm ci in it), not another project's. */
function ownInstall() {
  if (env.npm_config_global === "true") return false;
  if (env.npm_package_resolved) return false;
  const prefix = env.npm_config_local_prefix || env.INIT_CWD;
  return !prefix || inside(prefix, root);
}

/**
 * Whether this is `npx certmint` (npm exec) run in the clone or below it: npm 11 (11.19 at
 * least) runs a command named by the project's own bin by installing the project, linked
 * (npm_package_resolved "null"), into its npx cache, and runs prepare there; that is the clone
 * running its own CLI, not another project installing it.
 */
function selfExec() {
  if (env.npm_command !== "exec") return false;
  const prefix = env.npm_config_local_prefix || env.INIT_CWD;
  return Boolean(prefix && inside(prefix, root) && inside(root, prefix));
}

/** prepack (npm 6, yarn, pnpm pack a git dependency's clone): started outside the package. */
function packedForAnother() {
  const resolved = resolvedDir();
  return Boolean(resolved && env.INIT_CWD && !inside(env.INIT_CWD, resolved));
}

function version() {
  try {
    return JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  } catch {
    return "<version>";
  }
}

function refuse(kind) {
  const tgz = `certmint-${version()}.tgz`;
  const lines = [
    kind === "git"
      ? "certmint: installing certmint from a git URL is not supported: the repository's package.json is the server, with its dependencies, not the CLI."
      : kind === "directory"
        ? `certmint: installing certmint from a directory (npm install <path>, a file: dependency, npm link, npm install -g of a clone; here ${root}) is not supported: the repository's package.json is the server, with its dependencies, not the CLI.`
        : "certmint: this package.json is the server, with its dependencies: it is not packed or published.",
    kind === "directory"
      ? "To install the certmint CLI with npm, pack it with make pack in that directory:"
      : "To install the certmint CLI with npm, pack it with make pack in a clone of the repository:",
    kind === "directory"
      ? `  cd ${root} && make pack`
      : "  git clone <the repository URL> certmint && cd certmint && make pack",
    `make pack (scripts/pack-cli.cjs, packaging/cli/package.json) writes ${tgz} in the clone's top directory: the CLI alone, one file, no dependencies. Then:`,
    kind === "directory" ? `  npm install -g ${join(root, tgz)}` : `  npm install -g ./${tgz}`,
    "To run the server, run it from the clone (make run; README: Running in production).",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  process.exit(1);
}

if (event === "prepack") refuse(gitInstall() || packedForAnother() ? "git" : "pack");
else if (event === "prepare" && gitInstall()) refuse("git");
else if (event === "prepare" && !ownInstall() && !selfExec()) refuse("directory");
// prepare in the clone itself (npm install, npm ci, npx certmint): nothing to do.
