#!/usr/bin/env bash
# The browser test (make test), in the deployed topology: the page on
# https://app.blueharvest.test and the API on https://api.blueharvest.test (one site, two
# hosts), and a page on https://evil.test (another site). Chromium resolves the three
# names to 127.0.0.1 (--host-resolver-rules); a local nginx terminates TLS with a
# throwaway CA and certificate made here (openssl), which Chromium trusts through an
# NSS database in its own HOME (certutil), no certificate check turned off; nginx
# forwards api.blueharvest.test to the API (BH_API_URL) and serves examples/web for the
# two page hosts, and logs, per request, whether each session cookie came with it
# (never a value). tests/browser/browser.test.mjs drives the pages (playwright-core).
#
# Installs what it lacks when run as root: Debian's chromium, nginx and libnss3-tools;
# playwright-core from the npm registry (pinned by the lock file; it never downloads a
# browser). Env: BH_API_URL (the API; default http://127.0.0.1:9010), BH_TLS_PORT (the
# proxy's port, default 443; Chromium maps the hosts' :443 to it), CHROMIUM.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
API_URL=${BH_API_URL:-http://127.0.0.1:9010}
TLS_PORT=${BH_TLS_PORT:-443}
HOSTS=(app.blueharvest.test api.blueharvest.test evil.test)

say() { echo "[browser] $*"; }
die() { echo "error: $*" >&2; exit 1; }

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v certutil >/dev/null || missing+=(libnss3-tools)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian's ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    die "missing ${missing[*]}; install them (Debian: sudo apt-get install ${missing[*]}) or set CHROMIUM"
  fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v npm >/dev/null || die "npm not found (Debian: apt-get install nodejs npm)"

cd "$ROOT/tests/browser"
if [ ! -d node_modules/playwright-core ]; then
  say "installing playwright-core (npm ci)"
  npm ci --no-audit --no-fund --silent
fi

WORK=$(mktemp -d /tmp/bh-browser.XXXXXX)
NGINX_PID=
cleanup() {
  status=$?
  if [ -n "$NGINX_PID" ]; then kill "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
  if [ "$status" != 0 ] && [ -s "$WORK/nginx/error.log" ]; then
    echo "[browser] nginx error log:" >&2
    tail -n 20 "$WORK/nginx/error.log" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
# nginx's workers (nobody, when run as root) need to reach its temp directories.
chmod 755 "$WORK"

say "making a throwaway CA and a certificate for ${HOSTS[*]}"
TLS=$WORK/tls
mkdir -m 700 "$TLS"
san=$(printf 'DNS:%s,' "${HOSTS[@]}")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=Blue Harvest browser test CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=${HOSTS[1]}" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
printf '%s\n' "subjectAltName=${san%,}" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$TLS/server.ext"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
  -CAcreateserial -days 2 -extfile "$TLS/server.ext" -out "$TLS/server.pem" 2>/dev/null

say "trusting the CA in an NSS database of Chromium's own HOME (certutil)"
BROWSER_HOME=$WORK/home
mkdir -p "$BROWSER_HOME/.pki/nssdb"
certutil -N -d "sql:$BROWSER_HOME/.pki/nssdb" --empty-password
certutil -A -d "sql:$BROWSER_HOME/.pki/nssdb" -n "Blue Harvest browser test CA" -t "C,," -i "$TLS/ca.pem"

say "starting nginx on 127.0.0.1:$TLS_PORT: ${HOSTS[1]} -> $API_URL, ${HOSTS[0]} and ${HOSTS[2]} -> examples/web"
mkdir -p "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 256; }
http {
  types { text/html html; text/javascript js; }
  default_type application/octet-stream;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  # Which session cookies a request carried: yes or no, never a value.
  map \$http_cookie \$refresh_cookie { "~(^|;\\s*)__Secure-bh_refresh=" yes; default no; }
  map \$http_cookie \$csrf_cookie { "~(^|;\\s*)__Host-bh_csrf=" yes; default no; }
  log_format session escape=json '{"host":"\$host","origin":"\$http_origin","method":"\$request_method","path":"\$uri","status":\$status,"refreshCookie":"\$refresh_cookie","csrfCookie":"\$csrf_cookie","fetchSite":"\$http_sec_fetch_site"}';
  access_log $WORK/nginx/access.log session;
  ssl_certificate $TLS/server.pem;
  ssl_certificate_key $TLS/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:$TLS_PORT ssl default_server;
    ssl_reject_handshake on;
  }
  server {
    listen 127.0.0.1:$TLS_PORT ssl;
    server_name ${HOSTS[1]};
    location / {
      proxy_pass $API_URL;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:$TLS_PORT ssl;
    server_name ${HOSTS[0]} ${HOSTS[2]};
    root $ROOT/examples/web;
    index index.html;
    log_not_found off;
    add_header Cache-Control no-store;
  }
}
CONF
"$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
for _ in $(seq 1 50); do
  if curl -fsS -o /dev/null --cacert "$TLS/ca.pem" --resolve "${HOSTS[1]}:$TLS_PORT:127.0.0.1" \
    "https://${HOSTS[1]}:$TLS_PORT/api/health?type=live" 2>/dev/null; then
    break
  fi
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx did not start (port $TLS_PORT taken? set BH_TLS_PORT)"
  sleep 0.1
done
curl -fsS -o /dev/null --cacert "$TLS/ca.pem" --resolve "${HOSTS[1]}:$TLS_PORT:127.0.0.1" \
  "https://${HOSTS[1]}:$TLS_PORT/api/health?type=live" || die "the API is not reachable through nginx"
say "proxy up: https://${HOSTS[1]} answers through it, with the test CA"

CHROMIUM=$CHROMIUM BH_BROWSER_HOME=$BROWSER_HOME BH_TLS_PORT=$TLS_PORT \
  BH_PROXY_LOG=$WORK/nginx/access.log node browser.test.mjs
