// PostCSS plugin for production builds: drops the Radix Themes rules of components the app
// never renders. Radix ships one components.css with every component (~430 KB raw) and one
// utilities.css; a page of this app uses a dozen of them. Written into .web by
// app/ui/theme.py, which adds it to postcss.config.js after postcss-import (so it sees
// the inlined files).
//
// Which classes are used: every `rt-...` string in the Radix modules the app imports by
// name (the compiled pages, Reflex's own components), followed through their relative
// imports, plus any `rt-...` string in the compiled app itself. Radix builds its size,
// variant and layout classes at run time from a prefix (`rt-r-size` + `-2`,
// `xs:rt-r-p` + `-3`), so a class is known when it or one of its dash-prefixes is such a
// string. A selector naming an unknown `rt-` class is dropped; anything else is kept.
// When the imports cannot be read (a namespace import of the whole library, a name the
// index does not export) nothing is dropped: a heavier page, never an unstyled one.
const fs = require("node:fs");
const path = require("node:path");

const WEB = __dirname;
const THEMES = path.join(WEB, "node_modules/@radix-ui/themes/dist/esm");
const SOURCES = ["app", "app_components", "utils", "components"];
// Reflex's event runtime names Radix classes to read a control's value
// (`className.includes("rt-SliderRoot")`), not to render one: its strings do not count.
const READS_ONLY = new Set([path.join(WEB, "utils/state.js")]);
const RT_CLASS = /rt-[A-Za-z0-9_-]+/g;
const NAMED_IMPORT = /import\s*\{([^}]*)\}\s*from\s*["']@radix-ui\/themes["']/g;
const NAMESPACE_IMPORT = /import\s*\*\s*as\s+\w+\s+from\s*["']@radix-ui\/themes["']/;

function sourceFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(m?js|jsx)$/.test(entry.name) ? [full] : [];
  });
}

// The module file behind each name the library's index exports.
function exportedFiles() {
  const index = fs.readFileSync(path.join(THEMES, "components/index.js"), "utf8");
  const localFile = new Map();
  for (const [, named, star, file] of index.matchAll(
    /import\s*(?:\{([^}]*)\}|\*\s*as\s+([\w$]+))\s*from\s*"\.\/([^"]+)"/g,
  )) {
    const target = path.join(THEMES, "components", file);
    if (star) localFile.set(star, target);
    for (const item of (named || "").split(",")) {
      const [, local = item] = item.trim().split(/\s+as\s+/);
      if (local) localFile.set(local.trim(), target);
    }
  }
  const files = new Map();
  for (const [, list] of index.matchAll(/export\s*\{([^}]*)\}/g)) {
    for (const item of list.split(",")) {
      const [local, exported = local] = item.trim().split(/\s+as\s+/);
      if (localFile.has(local)) files.set(exported.trim(), localFile.get(local));
    }
  }
  return files;
}

// The `rt-` strings the app can put on an element, or null when that cannot be told.
function knownClasses() {
  const appFiles = SOURCES.flatMap((dir) => sourceFiles(path.join(WEB, dir)));
  const known = new Set();
  const names = new Set();
  for (const file of appFiles) {
    const text = fs.readFileSync(file, "utf8");
    if (NAMESPACE_IMPORT.test(text)) return null;
    for (const [, list] of text.matchAll(NAMED_IMPORT)) {
      for (const item of list.split(",")) {
        const name = item.trim().split(/\s+as\s+/)[0].trim();
        if (name) names.add(name);
      }
    }
    if (READS_ONLY.has(file)) continue;
    for (const [token] of text.matchAll(RT_CLASS)) known.add(token);
  }
  const files = exportedFiles();
  const queue = [];
  for (const name of names) {
    if (!files.has(name)) return null;
    queue.push(files.get(name));
  }
  const seen = new Set();
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file) || !fs.existsSync(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, "utf8");
    for (const [token] of text.matchAll(RT_CLASS)) known.add(token);
    for (const [, relative] of text.matchAll(/(?:from|import)\s*"(\.[^"]+)"/g)) {
      queue.push(path.resolve(path.dirname(file), relative));
    }
  }
  return known;
}

function isKnown(name, known) {
  if (known.has(name)) return true;
  for (let dash = name.indexOf("-"); dash !== -1; dash = name.indexOf("-", dash + 1)) {
    if (known.has(name.slice(0, dash))) return true;
  }
  return false;
}

// The `rt-` classes a selector names (a breakpoint prefix such as `xs:` taken off).
function radixClasses(selector) {
  return [...selector.matchAll(/\.((?:\\.|[A-Za-z0-9_-])+)/g)]
    .map(([, escaped]) => escaped.replace(/\\(.)/g, "$1").replace(/^[a-z]+:/, ""))
    .filter((name) => name.startsWith("rt-"));
}

module.exports = () => ({
  postcssPlugin: "radix-css-purge",
  OnceExit(root) {
    // Dev builds keep everything: a page edited under `reflex run` may start using a
    // component, and the stylesheet is not processed again for it.
    if (process.env.NODE_ENV !== "production") return;
    const known = knownClasses();
    if (known === null) return;
    root.walkRules((rule) => {
      if (rule.parent?.type === "atrule" && /keyframes$/i.test(rule.parent.name)) return;
      const kept = rule.selectors.filter((selector) =>
        radixClasses(selector).every((name) => isKnown(name, known)),
      );
      if (kept.length === 0) rule.remove();
      else if (kept.length < rule.selectors.length) rule.selectors = kept;
    });
    // At-rules (@media, @supports, @layer blocks) left empty by the above.
    let emptied = true;
    while (emptied) {
      emptied = false;
      root.walkAtRules((atRule) => {
        if (atRule.nodes && atRule.nodes.length === 0) {
          atRule.remove();
          emptied = true;
        }
      });
    }
  },
});
module.exports.postcss = true;
