// The browser side of a Blue Harvest session: the access token lives in memory only,
// the refresh token in an HttpOnly cookie the page never sees, and the CSRF token in a
// readable cookie that the page copies into the X-CSRF-Token header (double submit).
const params = new URLSearchParams(location.search);
const API = params.get("api") || "http://127.0.0.1:9000";
window.results = [];

function record(step, ok, detail) {
  window.results.push({ step, ok, detail });
  const item = document.createElement("li");
  item.textContent = `${ok ? "ok" : "FAILED"}: ${step} ${JSON.stringify(detail)}`;
  document.getElementById("steps").append(item);
}

function cookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? found.slice(name.length + 1) : null;
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

async function flow() {
  const n = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const signup = await call("/api/auth/signup", {
    method: "POST",
    body: { username: `web_${n}`, email: `w${n}@example.com`, password: `tidal orchid ${n} lantern` },
  });
  record("signup", signup.status === 201 && !!signup.json.accessToken, { status: signup.status });
  let token = signup.json.accessToken;

  const me = await call("/api/auth/me", { token });
  record("me", me.status === 200 && me.json.account.username === `web_${n}`, { status: me.status });

  const csrf = cookie("bh_csrf");
  record("csrf cookie readable, refresh cookie not", !!csrf && cookie("bh_refresh") === null, {});

  const refreshed = await call("/api/auth/refresh", { method: "POST", csrf });
  record("refresh", refreshed.status === 200 && refreshed.json.accessToken !== token, { status: refreshed.status });
  token = refreshed.json.accessToken;

  const forged = await call("/api/auth/refresh", { method: "POST", csrf: "forged" });
  record("refresh without the right CSRF token is refused", forged.status === 403, { status: forged.status });

  const logout = await call("/api/auth/logout", { method: "POST", csrf: cookie("bh_csrf") });
  record("logout", logout.status === 204, { status: logout.status });

  const after = await call("/api/auth/refresh", { method: "POST", csrf: cookie("bh_csrf") || "none" });
  record("refresh after logout is refused", after.status === 401 || after.status === 403, { status: after.status });
}

async function probe() {
  try {
    const response = await fetch(API + "/api/health?type=live", { credentials: "include" });
    record("probe", true, { readable: true, status: response.status });
  } catch (error) {
    record("probe", true, { readable: false, error: String(error) });
  }
}

(params.get("mode") === "probe" ? probe() : flow())
  .catch((error) => record("unexpected error", false, { error: String(error) }))
  .finally(() => { window.done = true; });
