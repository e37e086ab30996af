#!/usr/bin/env bash
# Checks the include graph between the top-level layers:
#   common/  includes neither service/ nor client/ (both binaries build on it);
#   service/ (gatherd) includes nothing of client/;
#   client/  (the gather CLI) includes nothing of service/;
# and that no source file in service/, client/ or common/ is over 700 lines.
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
failed=0
check() {  # check DIR PATTERN WHY
  local hits
  hits=$(grep -rnE "^#include \"($2)/" "$1" --include='*.h' --include='*.cc' || true)
  if [[ -n "$hits" ]]; then
    echo "layering: $1 must not include $2/ ($3):"
    echo "$hits"
    failed=1
  fi
}
check common 'service|client' 'common/ is shared by gatherd and the CLI'
check service 'client' 'gatherd does not build on the CLI'
check client 'service' 'the CLI talks to gatherd over gRPC only'
while read -r lines file; do
  [[ "$file" == total ]] && continue
  if (( lines > 700 )); then
    echo "size: $file has $lines lines (at most 700)"
    failed=1
  fi
done < <(find service client common -name '*.h' -o -name '*.cc' | xargs wc -l)
exit "$failed"
