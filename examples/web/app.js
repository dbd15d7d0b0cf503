// The browser side of a Blue Harvest session. The access token lives in memory only;
// the refresh token and the CSRF cookie are HttpOnly cookies of the API's host that
// this page never sees. The CSRF token comes in response bodies (signup, login, 2FA
// verify, refresh, and GET /api/csrf-token after a reload) and goes back in the
// X-CSRF-Token header. The page never reads cookies: it need not be on the API's host,
// only on its site (app.example.com with api.example.com).
const params = new URLSearchParams(location.search);
const API = params.get("api") || "http://127.0.0.1:9000";
// The user's think time between signing in and the first refresh.
const THINK_MS = Number(params.get("think") || 1500);
window.results = [];

function record(step, ok, detail = {}) {
  window.results.push({ step, ok, detail });
  const item = document.createElement("li");
  item.textContent = `${ok ? "ok" : "FAILED"}: ${step} ${JSON.stringify(detail)}`;
  document.getElementById("steps").append(item);
}

async function call(path, { method = "GET", token, body, csrf } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) headers["content-type"] = "application/json";
  if (csrf) headers["x-csrf-token"] = csrf;
  const response = await fetch(API + path, {
    method, headers, credentials: "include", body: body && JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

const code = (reply) => reply.json?.error?.code;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function signIn() {
  const n = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const signup = await call("/api/auth/signup", {
    method: "POST",
    body: { username: `web_${n}`, email: `w${n}@example.com`, password: `tidal orchid ${n} lantern` },
  });
  const session = signup.json || {};
  record("signup: an access token and the CSRF token in the JSON",
    signup.status === 201 && !!session.accessToken && !!session.csrfToken, { status: signup.status });
  const me = await call("/api/auth/me", { token: session.accessToken });
  record("me", me.status === 200 && me.json?.account?.username === `web_${n}`, { status: me.status });
  return session;
}

// A page that has just loaded holds no token: it asks GET /api/csrf-token, which
// finds the session through the CSRF cookie, then refreshes with that token.
async function tokenAfterReload() {
  const reply = await call("/api/csrf-token");
  record("csrf-token", reply.status === 200 && !!reply.json?.csrfToken, { status: reply.status });
  return reply.json?.csrfToken;
}

async function refresh(csrf, previous) {
  const reply = await call("/api/auth/refresh", { method: "POST", csrf });
  record("refresh with the token from a response body",
    reply.status === 200 && !!reply.json?.accessToken && reply.json.accessToken !== previous
      && !!reply.json.csrfToken,
    { status: reply.status, code: code(reply) });
  return reply.json || {};
}

async function logout(csrf) {
  const reply = await call("/api/auth/logout", { method: "POST", csrf });
  record("logout", reply.status === 204, { status: reply.status, code: code(reply) });
}

async function flow() {
  const session = await signIn();
  await sleep(THINK_MS);
  const csrf = await tokenAfterReload();
  record("csrf-token answers this session's token", csrf === session.csrfToken, {});

  const none = await call("/api/auth/refresh", { method: "POST" });
  record("refresh without the CSRF header is refused",
    none.status === 403 && code(none) === "CSRF_TOKEN_INVALID", { status: none.status, code: code(none) });
  const forged = await call("/api/auth/refresh", { method: "POST", csrf: `${csrf.slice(0, -4)}AAAA` });
  record("refresh with a forged CSRF token is refused",
    forged.status === 403 && code(forged) === "CSRF_TOKEN_INVALID", { status: forged.status, code: code(forged) });

  const refreshed = await refresh(csrf, session.accessToken);
  const me = await call("/api/auth/me", { token: refreshed.accessToken });
  record("me with the refreshed access token", me.status === 200, { status: me.status });
  await logout(refreshed.csrfToken);

  const after = await call("/api/auth/refresh", { method: "POST", csrf: refreshed.csrfToken });
  record("refresh after logout is refused", after.status === 401, { status: after.status, code: code(after) });
}

// Signs up and leaves the session open (the harness then visits another origin).
async function signin() {
  await signIn();
}

// A reload of a signed-in page: no token in memory, only the cookies of the API.
async function resume() {
  const csrf = await tokenAfterReload();
  await refresh(csrf, null);
  await logout(csrf);
}

// From an origin that is not allowed (another site): tries to read the API's answers
// and to send it credentialed, state-changing requests.
async function probe() {
  const attempts = [
    ["read GET /api/csrf-token", () => fetch(API + "/api/csrf-token", { credentials: "include" })],
    ["read GET /api/health", () => fetch(API + "/api/health?type=live", { credentials: "include" })],
    ["read POST /api/auth/refresh", () => fetch(API + "/api/auth/refresh", {
      method: "POST", credentials: "include", headers: { "x-csrf-token": "guess" },
    })],
    // No-cors requests go out (a form could send them too); only cookies could make
    // them count, and the API's cookies are SameSite=Strict.
    ["send POST /api/auth/refresh", () => fetch(API + "/api/auth/refresh", {
      method: "POST", credentials: "include", mode: "no-cors",
    })],
    ["send POST /api/auth/logout", () => fetch(API + "/api/auth/logout", {
      method: "POST", credentials: "include", mode: "no-cors",
    })],
  ];
  for (const [step, attempt] of attempts) {
    try {
      const response = await attempt();
      const readable = response.type !== "opaque";
      let body = null;
      if (readable) body = await response.text();
      record(step, true, { readable, status: response.status, body });
    } catch (error) {
      record(step, true, { readable: false, error: String(error) });
    }
  }
}

const modes = { flow, signin, resume, probe };
(modes[params.get("mode") || "flow"] || flow)()
  .catch((error) => record("unexpected error", false, { error: String(error) }))
  .finally(() => { window.done = true; });
