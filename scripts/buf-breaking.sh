#!/usr/bin/env bash
# buf breaking for the v1 contract. The baseline is the first commit that published
# proto/certmint/v1: v1 is frozen from then on, so fields and RPCs may be added but nothing
# published may change or go. Override with BUF_BREAKING_AGAINST=<git ref>.
# Skipped (exit 0) when no earlier commit has proto/.
set -euo pipefail
cd "$(dirname "$0")/.."

# sed reads all of git's output: with head, git could die of SIGPIPE and pipefail fail the run.
base="${BUF_BREAKING_AGAINST:-$(git log --reverse --format=%H -- proto/certmint/v1 | sed -n 1p)}"
if [ -z "$base" ]; then
  echo "buf breaking: skipped, no commit has proto/certmint/v1 yet"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The baseline workspace needs the same include modules (node_modules): link them in.
git archive "$base" proto buf.yaml | tar -x -C "$tmp"
ln -s "$PWD/node_modules" "$tmp/node_modules"
node_modules/.bin/buf breaking --against "$tmp"
echo "buf breaking: no breaking change against $(git rev-parse --short "$base")"
