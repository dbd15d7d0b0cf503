#!/usr/bin/env bash
# `make build`: release bootstraps of every Lambda function for arm64 (Graviton),
# cross-linked with zig, in one cargo invocation, in target/lambda/<function>/bootstrap
# (under CARGO_TARGET_DIR when set); prints each one's size.
#
# The functions are the packages under functions/. The tests crate's binaries (the
# load generator and the merged server) are not Lambda functions and are not built.
#
#   scripts/build.sh                      every function
#   BUILD_ONLY="auth health" scripts/build.sh   only these (package names)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=aarch64-unknown-linux-gnu

die() { echo "error: $*" >&2; exit 1; }

# Prerequisites, each named with how to get it.
command -v cargo >/dev/null || die "cargo not found. Install the Rust toolchain: https://rustup.rs"
command -v python3 >/dev/null || die "python3 not found. Install it with: apt-get install python3 python3-venv"
"$ROOT/scripts/venv.sh"   # .venv with cargo-lambda and zig (scripts/requirements.txt)
export PATH=$ROOT/.venv/bin:$PATH
cargo lambda --version >/dev/null 2>&1 || die "cargo-lambda missing from .venv; delete .venv and run again"
python-zig version >/dev/null 2>&1 || die "zig (PyPI ziglang) missing from .venv; delete .venv and run again"
if ! rustc --print target-libdir --target "$TARGET" 2>/dev/null | xargs -r test -d; then
  command -v rustup >/dev/null || die "the Rust standard library for $TARGET is missing and rustup is not there to add it"
  echo "[build] adding the Rust target $TARGET (first use only)"
  rustup target add "$TARGET" || die "rustup target add $TARGET failed"
fi

# Every package under functions/ (its directory name is its package and binary name).
all=()
for manifest in functions/*/Cargo.toml; do
  all+=("$(basename "$(dirname "$manifest")")")
done
[ ${#all[@]} -gt 0 ] || die "no function packages under functions/"

if [ -n "${BUILD_ONLY:-}" ]; then
  functions=()
  for f in $BUILD_ONLY; do
    [ -f "functions/$f/Cargo.toml" ] || die "BUILD_ONLY: '$f' is not a package under functions/ (have: ${all[*]})"
    functions+=("$f")
  done
else
  functions=("${all[@]}")
fi

# One cargo invocation for all of them: one dependency graph built once, in parallel,
# in the shared target directory (CARGO_TARGET_DIR, else target/).
OUT=${CARGO_TARGET_DIR:-$ROOT/target}
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
echo "[build] ${#functions[@]} functions: cargo lambda build --release --arm64 ${packages[*]}"
start=$SECONDS
cargo lambda build --release --arm64 "${packages[@]}" || die "cargo lambda build failed"

echo
echo "Lambda bootstraps (arm64, provided.al2023), built in $((SECONDS - start)) s:"
missing=0
for f in "${functions[@]}"; do
  boot=$OUT/lambda/$f/bootstrap
  if [ -f "$boot" ]; then
    bytes=$(stat -c %s "$boot")
    printf '  %-16s %8s  (%s bytes)  %s\n' "$f" "$(numfmt --to=iec --suffix=B "$bytes")" "$bytes" "$boot"
  else
    printf '  %-16s MISSING  %s\n' "$f" "$boot"
    missing=1
  fi
done
[ "$missing" = 0 ] || die "some bootstraps were not produced"
