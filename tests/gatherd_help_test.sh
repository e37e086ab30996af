#!/usr/bin/env bash
# `gatherd --help` lists every flag gatherd defines, grouped by topic (service/flags/*_flags.cc).
set -euo pipefail
gatherd="$1"
source_dir="$2"
help=$("$gatherd" --help 2>&1 || true)
failed=0
for file in "$source_dir"/service/flags/*_flags.cc; do
  group="service/flags/$(basename "$file")"
  if ! grep -qF "Flags from $group:" <<<"$help"; then
    echo "--help has no group for $group"
    failed=1
  fi
  for flag in $(grep -ohE '^ABSL_FLAG\([^,]+, *[a-z_0-9]+' "$file" | sed -E 's/.*, *//'); do
    if ! grep -qE -- "^ +--$flag " <<<"$help"; then
      echo "--help does not list --$flag ($group)"
      failed=1
    fi
  done
done
exit "$failed"
