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
"use strict";
const { readFileSync } = require("node:fs");
const { isAbsolute, join, relative } = require("node:path");

const root = join(__dirname, "..");
const env = process.env;
const event = env.npm_lifecycle_event ?? process.argv[2] ?? "";

/** Whether npm runs this for a project installing certmint from a git URL (see above). */
function gitInstall() {
  if (env._PACOTE_NO_PREPARE_) return true;
  const resolved = env.npm_package_resolved;
  const started = env.INIT_CWD;
  if (!resolved || !started) return false;
  const rel = relative(resolved, started);
  return rel.startsWith("..") || isAbsolute(rel);
}

function version() {
  try {
    return JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  } catch {
    return "<version>";
  }
}

function refuse(fromGit) {
  const tgz = `certmint-${version()}.tgz`;
  const lines = [
    fromGit
      ? "certmint: installing certmint from a git URL is not supported: the repository's package.json is the server, with its dependencies, not the CLI."
      : "certmint: this package.json is the server, with its dependencies: it is not packed or published.",
    "To install the certmint CLI with npm, pack it with make pack in a clone of the repository:",
    "  git clone <the repository URL> certmint && cd certmint && make pack",
    `make pack (scripts/pack-cli.cjs, packaging/cli/package.json) writes ${tgz} in the clone's top directory: the CLI alone, one file, no dependencies. Then:`,
    `  npm install -g ./${tgz}`,
    "To run the server, run it from the clone (make run; README: Running in production).",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  process.exit(1);
}

if (event === "prepack") refuse(gitInstall());
else if (event === "prepare" && gitInstall()) refuse(true);
// prepare in the clone itself (npm install, npm ci): nothing to do.
