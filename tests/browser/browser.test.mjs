// Browser test (make test; scripts/browser-test.sh sets up the TLS proxy and the CA).
// The deployed topology: the page on https://app.blueharvest.test, the API on
// https://api.blueharvest.test (one site, two hosts; the app origin is in the test
// stack's ALLOWED_ORIGINS), and a page on https://evil.test (another site, not allowed).
// Chromium resolves all three to the local nginx and trusts its certificate through
// the NSS database in BH_BROWSER_HOME. nginx logs, per request, whether each session
// cookie came along (BH_PROXY_LOG), which is how cookie scope is observed here.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { chromium } from "playwright-core";

const APP = "https://app.blueharvest.test";
const API = "https://api.blueharvest.test";
const EVIL = "https://evil.test";
const PORT = process.env.BH_TLS_PORT || "443";
const PROXY_LOG = process.env.BH_PROXY_LOG;
const HOME = process.env.BH_BROWSER_HOME;
if (!PROXY_LOG || !HOME) {
  console.error("run this through scripts/browser-test.sh (BH_PROXY_LOG and BH_BROWSER_HOME are unset)");
  process.exit(2);
}

let failed = 0;
function check(ok, what, detail) {
  console.log(`${ok ? "  ok    " : "  FAILED"} ${what}${detail === undefined ? "" : ` ${JSON.stringify(detail)}`}`);
  if (!ok) failed += 1;
}

// The page code never touches document.cookie: not in its source...
const WEB = new URL("../../examples/web/", import.meta.url);
for (const file of ["app.js", "index.html"]) {
  const source = await readFile(new URL(file, WEB), "utf8");
  check(!/document\s*\.\s*cookie|\[\s*["'`]cookie["'`]\s*\]/.test(source), `examples/web/${file} has no document.cookie`);
}

// ... nor at run time: every read or write of document.cookie is counted.
function countCookieAccess() {
  const native = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  window.cookieAccesses = 0;
  Object.defineProperty(Document.prototype, "cookie", {
    configurable: true,
    get() { window.cookieAccesses += 1; return native.get.call(this); },
    set(value) { window.cookieAccesses += 1; native.set.call(this, value); },
  });
}

async function run(context, origin, mode) {
  const page = await context.newPage();
  const query = new URLSearchParams({ api: API, mode });
  await page.goto(`${origin}/?${query}`);
  await page.waitForFunction(() => window.done === true, null, { timeout: 60_000 });
  const results = await page.evaluate(() => window.results);
  const accesses = await page.evaluate(() => window.cookieAccesses);
  await page.close();
  for (const { step, ok, detail } of results) check(ok, `${origin} ${mode}: ${step}`, detail);
  check(accesses === 0, `${origin} ${mode}: the page never touched document.cookie`, { accesses });
  return results;
}

function expectSteps(results, count, what) {
  check(results.length === count, `${what}: all ${count} steps ran`, { ran: results.length });
}

async function proxyLog() {
  const text = await readFile(PROXY_LOG, "utf8");
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

// MAP <host>:443 to the proxy's port: the origins stay https://<host> (port 443).
const hosts = ["app.blueharvest.test", "api.blueharvest.test", "evil.test"];
const rules = hosts.map((host) => PORT === "443"
  ? `MAP ${host} 127.0.0.1`
  : `MAP ${host}:443 127.0.0.1:${PORT}`);
// An ordinary (persistent) profile with third-party cookies allowed (this Chromium
// blocks them by default): then only the cookies' own SameSite keeps them off another
// site's requests, which step 3 observes (with SameSite=None they do ride along).
await mkdir(`${HOME}/profile/Default`, { recursive: true });
await writeFile(`${HOME}/profile/Default/Preferences`,
  JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
const context = await chromium.launchPersistentContext(`${HOME}/profile`, {
  // The CA is trusted properly (NSS), not by turning certificate checks off.
  ignoreHTTPSErrors: false,
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Chromium reads trusted roots from $HOME/.pki/nssdb: the test CA only.
  env: { ...process.env, HOME },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--host-resolver-rules=${rules.join(", ")}, EXCLUDE localhost`,
  ],
});
try {
  await context.addInitScript(countCookieAccess);

  // 1. The whole session on the app's origin.
  const flow = await run(context, APP, "flow");
  expectSteps(flow, 10, "flow");

  // 2. Signed in again, the browser holds the API's cookies as declared.
  const signin = await run(context, APP, "signin");
  expectSteps(signin, 2, "signin");
  const jar = (await context.cookies()).filter((c) => c.domain === "api.blueharvest.test");
  const refresh = jar.find((c) => c.name === "__Secure-bh_refresh");
  check(refresh?.path === "/api/auth" && refresh.secure && refresh.httpOnly && refresh.sameSite === "Strict"
    && refresh.domain === "api.blueharvest.test",
  "the browser keeps __Secure-bh_refresh: api host only, Path=/api/auth, Secure, HttpOnly, Strict",
  refresh && { path: refresh.path, domain: refresh.domain, sameSite: refresh.sameSite });
  const csrf = jar.find((c) => c.name === "__Host-bh_csrf");
  check(csrf?.path === "/" && csrf.secure && csrf.httpOnly && csrf.sameSite === "Strict"
    && csrf.domain === "api.blueharvest.test",
  "the browser keeps __Host-bh_csrf: api host only, Path=/, Secure, HttpOnly, Strict",
  csrf && { path: csrf.path, domain: csrf.domain, sameSite: csrf.sameSite });
  check(jar.every((c) => c.name.startsWith("__Host-") || c.name.startsWith("__Secure-")),
    "every API cookie has a __Host- or __Secure- prefix", jar.map((c) => c.name));
  const others = (await context.cookies()).filter((c) => c.domain !== "api.blueharvest.test");
  check(others.length === 0, "no other host holds a cookie", others.map((c) => `${c.domain} ${c.name}`));

  // 3. Another site, in the same browser while that session is open.
  const logBefore = (await proxyLog()).length;
  const probe = await run(context, EVIL, "probe");
  expectSteps(probe, 5, "probe");
  for (const { step, detail } of probe) {
    check(detail.readable === false, `${EVIL}: ${step}: no readable answer`, detail);
  }
  const fromEvil = (await proxyLog()).slice(logBefore).filter((r) => r.host === "api.blueharvest.test");
  check(fromEvil.length >= 2 && fromEvil.every((r) => r.origin === EVIL),
    `${EVIL}: its requests reached the API`, fromEvil.map((r) => `${r.method} ${r.path} ${r.status}`));
  check(fromEvil.every((r) => r.refreshCookie === "no" && r.csrfCookie === "no"),
    `${EVIL}: no request carried a session cookie`, fromEvil.map((r) => `${r.path}: ${r.refreshCookie}/${r.csrfCookie}`));
  const posts = fromEvil.filter((r) => r.method === "POST");
  check(posts.length >= 2 && posts.every((r) => r.status === 401),
    `${EVIL}: the API saw its refresh and logout without a session (401)`, posts.map((r) => `${r.path} ${r.status}`));

  // 4. The session survived, and a reloaded page resumes it with GET /api/csrf-token.
  const resume = await run(context, APP, "resume");
  expectSteps(resume, 3, "resume");

  // 5. What the proxy saw from the app: the refresh token only on /api/auth, the CSRF
  //    cookie on the token route; the app's own host got no cookie at all.
  const log = await proxyLog();
  const fromApp = log.filter((r) => r.host === "api.blueharvest.test" && r.origin === APP);
  const to = (path) => fromApp.filter((r) => r.path === path && r.method !== "OPTIONS");
  check(to("/api/csrf-token").length >= 2 && to("/api/csrf-token").every((r) => r.csrfCookie === "yes" && r.refreshCookie === "no"),
    "GET /api/csrf-token got the CSRF cookie and never the refresh token");
  check(to("/api/auth/refresh").some((r) => r.refreshCookie === "yes" && r.csrfCookie === "yes" && r.status === 200),
    "refresh got both cookies and answered 200");
  check(log.filter((r) => r.host === "app.blueharvest.test").every((r) => r.refreshCookie === "no" && r.csrfCookie === "no"),
    "the app's host never received the API's cookies");
} finally {
  await context.close();
}
if (failed) {
  console.error(`browser test: ${failed} check(s) failed`);
  process.exit(1);
}
console.log("browser test: every check passed");
