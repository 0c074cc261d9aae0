// Lighthouse (mobile defaults) over the app's pages, in Debian's Chromium: the public pages
// first, then, with the access token put where the UI keeps it, the signed-in ones.
// Run by scripts/ci/lighthouse.py, which starts the server and judges the scores:
//   node scripts/ci/lighthouse.mjs <base url> <access token> <output folder> <path>...
// Paths starting with "+" are the signed-in ones. Writes <output folder>/<name>.json (the
// whole report) and prints one JSON line per page with its scores and first-visit figures.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// The packages live in the project's .tools (npm --prefix .tools), not next to this file.
const tools = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../.tools");
const resolveTool = createRequire(path.join(tools, "package.json")).resolve;
const load = (name) => import(pathToFileURL(resolveTool(name)).href);
const chromeLauncher = await load("chrome-launcher");
const lighthouse = (await load("lighthouse")).default;
const puppeteer = (await load("puppeteer-core")).default;

const [base, token, outDir, ...paths] = process.argv.slice(2);
const chromePath = process.env.CHROME_PATH || "/usr/bin/chromium";
fs.mkdirSync(outDir, { recursive: true });

const chrome = await chromeLauncher.launch({
  chromePath,
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` });

async function signIn() {
  const page = await browser.newPage();
  // Any same-origin document will do; the favicon is the cheapest one.
  await page.goto(`${base}/favicon.svg`);
  await page.evaluate((value) => localStorage.setItem("access_token", value), token);
  await page.close();
}

// Lighthouse's own reset would clear localStorage (the token) with the cache: clear the
// cache alone, so that every page is measured as a first visit.
async function clearCache() {
  const page = await browser.newPage();
  const session = await page.createCDPSession();
  await session.send("Network.clearBrowserCache");
  await page.close();
}

try {
  let signedIn = false;
  for (const entry of paths) {
    const isPrivate = entry.startsWith("+");
    const route = isPrivate ? entry.slice(1) : entry;
    if (isPrivate && !signedIn) {
      await signIn();
      signedIn = true;
    }
    await clearCache();
    const result = await lighthouse(`${base}${route}`, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      // Keep localStorage (the token); clearCache() made it a first visit.
      disableStorageReset: true,
    });
    const lhr = result.lhr;
    const name = route.split("?")[0].replace(/[^a-z0-9]+/gi, "_").replace(/^_|_$/g, "") || "dashboard";
    fs.writeFileSync(path.join(outDir, `${name}.json`), result.report);
    const audit = (id) => lhr.audits[id]?.numericValue ?? null;
    const failed = Object.values(lhr.categories).flatMap((category) =>
      category.auditRefs
        .filter((ref) => ref.weight > 0 && category.id !== "performance")
        .map((ref) => lhr.audits[ref.id])
        .filter((a) => a.score !== null && a.score < 1)
        .map((a) => `${category.id}:${a.id}`),
    );
    console.log(
      JSON.stringify({
        entry,
        path: route.split("?")[0],
        private: isPrivate,
        final_url: lhr.finalDisplayedUrl,
        // Lighthouse's own failure to measure (NO_NAVSTART and the like): no scores then.
        error: lhr.runtimeError?.code ?? null,
        scores: Object.fromEntries(
          Object.entries(lhr.categories).map(([id, category]) => [id, category.score]),
        ),
        failed,
        transfer_kb: Math.round(audit("total-byte-weight") / 1024),
        fcp_ms: Math.round(audit("first-contentful-paint")),
        lcp_ms: Math.round(audit("largest-contentful-paint")),
        unused_css_kb: Math.round((lhr.audits["unused-css-rules"]?.details?.overallSavingsBytes ?? 0) / 1024),
        unused_js_kb: Math.round((lhr.audits["unused-javascript"]?.details?.overallSavingsBytes ?? 0) / 1024),
      }),
    );
  }
} finally {
  await browser.disconnect();
  await chrome.kill();
}
