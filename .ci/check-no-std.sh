#!/usr/bin/env bash
# Proves that pgcnn-core and its dependencies need no std: builds it for a target that
# has no std at all. Where that target cannot be installed (no network to the toolchain
# server), falls back to checking that no dependency of the core enables a `std` feature.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-none
if rustup target list --installed 2>/dev/null | grep -qx "$target" \
   || timeout 120 rustup target add "$target" >/dev/null 2>&1; then
  cargo build -p pgcnn-core --target "$target" --release
  # The optional ndarray conversions too (ndarray without its std feature).
  cargo build -p pgcnn-core --target "$target" --release --features ndarray
  echo "pgcnn-core builds for $target (no std available there), with and without ndarray"
else
  echo "could not install $target; checking the feature graph instead"
  if cargo tree -p pgcnn-core --features ndarray -e normal,features,no-proc-macro --target x86_64-unknown-linux-gnu | grep -E '"std"|feature "std"'; then
    echo "error: a dependency of pgcnn-core enables std (see above)" >&2
    exit 1
  fi
  echo "no dependency of pgcnn-core enables std"
fi
