#!/usr/bin/env bash
# The compile-checked statements' data (.sqlx/): what the `sqlx::query!` family of
# macros check a statement against at build time (the unit tests, clippy, the served
# functions, release builds): SQLX_OFFLINE=true (.cargo/config.toml) makes every
# build use it; this script asks the database itself (SQLX_OFFLINE=false).
#
#   scripts/sqlx-data.sh write   rewrite .sqlx/ from the running stack's writer (make sqlx)
#   scripts/sqlx-data.sh check   fail when .sqlx/ is not what the stack's schema gives
#
# Needs the stack's environment (scripts/stack.sh env) for DATABASE_URL. Without
# sqlx-cli: the macros write their data themselves when SQLX_OFFLINE_DIR is set.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mode=${1:-check}
: "${DATABASE_URL:?load the stack environment first: . \"\$(scripts/stack.sh env)\"}"

# The crates whose sources use the macros, and those sources (touched so the macros
# run again: cargo does not know they read a database; their times are put back after,
# so the builds that follow do not compile every crate again for a check).
mapfile -t sources < <(grep -rlE 'sqlx::query(_as|_scalar)?!' shared/src functions/*/src || true)
crates=()
for source in "${sources[@]}"; do
  case $source in
    shared/*) crate=shared ;;
    functions/*) crate=$(sed -n 's/^name = "\(.*\)"/\1/p' "$(echo "$source" | cut -d/ -f1-2)/Cargo.toml" | head -1) ;;
  esac
  [[ " ${crates[*]} " == *" $crate "* ]] || crates+=("$crate")
done
echo "[sqlx] ${#sources[@]} files in ${crates[*]}"

out=$(mktemp -d)
times=$(mktemp -d)
for i in "${!sources[@]}"; do touch -r "${sources[$i]}" "$times/$i"; done
restore() {
  for i in "${!sources[@]}"; do touch -r "$times/$i" "${sources[$i]}"; done
  rm -rf "$out" "$times"
}
trap restore EXIT
touch "${sources[@]}"
packages=()
for crate in "${crates[@]}"; do packages+=(-p "$crate"); done
SQLX_OFFLINE=false SQLX_OFFLINE_DIR=$out cargo check --quiet "${packages[@]}"

case $mode in
  write)
    rm -rf .sqlx && mkdir -p .sqlx && cp "$out"/query-*.json .sqlx/
    echo "[sqlx] .sqlx/ written: $(ls .sqlx | wc -l) statements"
    ;;
  check)
    if ! diff -r -q .sqlx "$out" >/dev/null; then
      diff -r -q .sqlx "$out" || true
      echo "[sqlx] .sqlx/ differs from what the schema gives these statements: run make sqlx and commit it" >&2
      exit 1
    fi
    echo "[sqlx] .sqlx/ is current: $(ls .sqlx | wc -l) statements checked against the schema"
    ;;
  *) echo "usage: $0 write|check" >&2; exit 2 ;;
esac
