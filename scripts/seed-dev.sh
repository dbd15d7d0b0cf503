#!/usr/bin/env bash
# Seeds a local stack with one admin and one moderator (make dev runs it after
# `scripts/stack.sh up`). Signup only makes users; these come from the migrate
# function's create-account command, with generated passwords.
#
#   scripts/seed-dev.sh     create dev_admin and dev_moderator unless already made
#
# Their passwords are kept in $BH_STACK_DIR/seed-accounts.json (.stack/dev/ for the dev
# stack; mode 0600, git-ignored with the rest of .stack/), written once per stack:
# `make clean` deletes it with the stack, and the next `make dev` seeds anew.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ENV_FILE=$(scripts/stack.sh env)
[ -f "$ENV_FILE" ] || { echo "error: no stack env at $ENV_FILE; run scripts/stack.sh up first" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENV_FILE"
SEED_FILE=$BH_STACK_DIR/seed-accounts.json

say() { printf '[seed:%s] %s\n' "$BH_STACK" "$*"; }

# True when the seed file already holds this login's password.
seeded() {
  [ -f "$SEED_FILE" ] && python3 - "$SEED_FILE" "$1" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    sys.exit(0 if sys.argv[2] in json.load(f) else 1)
PY
}

# Adds create-account's {account, password} output (stdin) under the login name.
RECORD_PY='
import json, os, sys
path, login = sys.argv[1], sys.argv[2]
created = json.load(sys.stdin)
seeds = {}
if os.path.exists(path):
    with open(path) as f:
        seeds = json.load(f)
account = created["account"]
seeds[login] = {"role": account["role"], "email": account["email"], "password": created["password"]}
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(seeds, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
'
record() {
  (umask 077 && python3 -c "$RECORD_PY" "$SEED_FILE" "$1")
  chmod 600 "$SEED_FILE"
}

seed() {
  local login=$1 role=$2 output status
  if seeded "$login"; then
    say "$login ($role) already seeded"
    return
  fi
  set +e
  output=$(cargo run --quiet -p migrate -- create-account --role "$role" --username "$login" --email "$login@example.com")
  status=$?
  set -e
  case $status in
    0)
      # The password exists only in this output: show it rather than lose it.
      printf '%s' "$output" | record "$login" \
        || { echo "error: could not write $SEED_FILE; $login was created as: $output" >&2; exit 1; }
      say "$login ($role) created"
      ;;
    3) say "warning: $login exists but its password is not in $SEED_FILE (deleted?); 'make clean' then 'make dev' seeds a fresh stack" ;;
    *) echo "error: creating $login failed (exit $status)" >&2; exit 1 ;;
  esac
}

seed dev_admin admin
seed dev_moderator moderator

say "log in as dev_admin (admin) or dev_moderator (moderator); passwords in $SEED_FILE"
say "  e.g.: python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"dev_admin\"][\"password\"])' $SEED_FILE"
say "step-up routes (role changes, deleting others' accounts, ...) need a sign-in with a"
say "  one-time password: enable 2FA first (POST /api/auth/2fa/setup, then /api/auth/2fa/enable with {code, currentPassword})"
