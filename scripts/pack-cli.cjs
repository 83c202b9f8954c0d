#!/usr/bin/env node
// Packs the certmint command-line client: `make pack` (or `node scripts/pack-cli.cjs`) writes
// certmint-<version>.tgz, which `npm install -g certmint-<version>.tgz` installs without
// fetching anything: the CLI is one bundled file (dist/cli/certmint.js, scripts/build-server.cjs)
// that requires only Node's built-in modules, so its package, packaging/cli/package.json, has no
// dependencies (the server's, in the root package.json, stay out of it) and asks for Node 20 or
// later.
//
// Steps: build (scripts/build-server.cjs), check that the bundle requires nothing but Node
// built-ins, stage packaging/cli/package.json, README.md and the bundle (as certmint.js) in
// dist/cli-package/, and run `npm pack` there. Arguments go to `npm pack` (e.g. --json,
// --pack-destination DIR; the default destination is the directory this is run from). Only
// npm's output goes to stdout, so `--json` output can be parsed.
const { execFileSync } = require("node:child_process");
const { builtinModules } = require("node:module");
const { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } = require("node:fs");
const { join, resolve } = require("node:path");

const root = join(__dirname, "..");
const stage = join(root, "dist", "cli-package");
const manifest = JSON.parse(readFileSync(join(root, "packaging", "cli", "package.json"), "utf8"));
const project = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function fail(message) {
  process.stderr.write(`pack-cli: ${message}\n`);
  process.exit(1);
}

if (manifest.version !== project.version) {
  fail(
    `packaging/cli/package.json has version ${manifest.version}, package.json ${project.version}`,
  );
}
const dependencyFields = [
  "dependencies",
  "optionalDependencies",
  "peerDependencies",
  "bundleDependencies",
];
for (const field of dependencyFields) {
  if (manifest[field] !== undefined) fail(`packaging/cli/package.json must have no ${field}`);
}

execFileSync(process.execPath, [join(root, "scripts", "build-server.cjs")], {
  cwd: root,
  stdio: ["ignore", 2, 2],
});

// The bundle must stand alone: every require() names a Node built-in.
const bundle = join(root, "dist", "cli", "certmint.js");
const builtins = new Set(builtinModules);
const required = new Set(
  [...readFileSync(bundle, "utf8").matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => m[1],
  ),
);
const foreign = [...required].filter((m) => !m.startsWith("node:") && !builtins.has(m));
if (foreign.length > 0) {
  fail(`dist/cli/certmint.js requires modules outside Node: ${foreign.join(", ")}`);
}

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
copyFileSync(join(root, "packaging", "cli", "package.json"), join(stage, "package.json"));
copyFileSync(join(root, "README.md"), join(stage, "README.md"));
copyFileSync(bundle, join(stage, manifest.bin.certmint));
chmodSync(join(stage, manifest.bin.certmint), 0o755);

// --pack-destination is relative to where this runs, not to the staging directory.
const args = [];
let destination = process.cwd();
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--pack-destination") {
    destination = resolve(argv[++i] ?? fail("--pack-destination needs a directory"));
  } else if (argv[i].startsWith("--pack-destination=")) {
    destination = resolve(argv[i].slice("--pack-destination=".length));
  } else args.push(argv[i]);
}
execFileSync("npm", ["pack", "--pack-destination", destination, ...args], {
  cwd: stage,
  stdio: ["ignore", "inherit", "inherit"],
});
