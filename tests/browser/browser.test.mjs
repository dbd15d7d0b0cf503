// Browser test (make test): serves examples/web from an allowed origin
// (http://127.0.0.1:3000, in the local stack's ALLOWED_ORIGINS) and from a disallowed
// one (http://127.0.0.1:3001), drives both in Debian's headless Chromium, and checks
// that the session flow works from the first and that the second cannot read the
// API's responses. API: BH_API_URL (default http://127.0.0.1:9010).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const API = process.env.BH_API_URL || "http://127.0.0.1:9010";
const WEB = fileURLToPath(new URL("../../examples/web/", import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript" };

function serve(port) {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    const file = path === "/" ? "index.html" : path.slice(1);
    try {
      const body = await readFile(join(WEB, file));
      response.writeHead(200, { "content-type": TYPES[extname(file)] || "text/plain" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

async function run(browser, origin, mode) {
  const page = await browser.newPage();
  await page.goto(`${origin}/?api=${encodeURIComponent(API)}${mode ? `&mode=${mode}` : ""}`);
  await page.waitForFunction(() => window.done === true, null, { timeout: 30_000 });
  const results = await page.evaluate(() => window.results);
  await page.close();
  return results;
}

const servers = [await serve(3000), await serve(3001)];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let failed = 0;
try {
  const flow = await run(browser, "http://127.0.0.1:3000");
  for (const { step, ok, detail } of flow) {
    console.log(`${ok ? "  ok    " : "  FAILED"} allowed origin: ${step} ${JSON.stringify(detail)}`);
    if (!ok) failed += 1;
  }
  if (flow.length < 7) {
    console.log(`  FAILED allowed origin: only ${flow.length} of 7 steps ran`);
    failed += 1;
  }
  const [probe] = await run(browser, "http://127.0.0.1:3001", "probe");
  const blocked = probe && probe.detail.readable === false;
  console.log(`${blocked ? "  ok    " : "  FAILED"} disallowed origin cannot read responses ${JSON.stringify(probe?.detail)}`);
  if (!blocked) failed += 1;
} finally {
  await browser.close();
  servers.forEach((server) => server.close());
}
if (failed) {
  console.error(`browser test: ${failed} check(s) failed`);
  process.exit(1);
}
console.log("browser test: every check passed");
