// Completes a mailed link: #reset=<token> (a new password) or #verify=<token> (an
// address proven). The token is read from the fragment once and then removed from the
// address bar and history, so it is not left behind for the next person at this screen.
const API = new URLSearchParams(location.search).get("api") || "http://127.0.0.1:9000";
const [action, token] = location.hash.slice(1).split("=");
history.replaceState(null, "", location.pathname + location.search);
const result = document.getElementById("result");

async function post(path, body) {
  const response = await fetch(API + path, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

const message = (reply) => reply.json?.error?.details?.errors?.[0]?.message
  ? `The password ${reply.json.error.details.errors[0].message}.`
  : reply.json?.error?.message || `Error ${reply.status}`;

if (action === "reset" && token) {
  const form = document.getElementById("reset");
  form.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reply = await post("/api/auth/password/reset", {
      token, newPassword: document.getElementById("password").value,
    });
    if (reply.status === 204) {
      form.hidden = true;
      result.textContent = "Your password is set. Every session was signed out: sign in with the new password.";
    } else {
      result.textContent = message(reply);
    }
  });
} else if (action === "verify" && token) {
  post("/api/auth/email/verify", { token }).then((reply) => {
    result.textContent = reply.status === 200
      ? (reply.json.changed ? `Your account's address is now ${reply.json.email}.` : "Your address is confirmed.")
      : message(reply);
  });
} else {
  result.textContent = "Open this page from a link Blue Harvest mailed you.";
}
