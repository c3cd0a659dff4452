#!/usr/bin/env bash
# Runs each libFuzzer target of a -DMG_FUZZ=ON build for a while on a copy
# of its seed corpus, and prints what it did: executions and coverage (cov:
# edges, ft: features, from libFuzzer's final lines). New inputs and crash
# artifacts go to a scratch directory, never into the repository, unless
# merge is 1: then the inputs that add coverage are minimized into
# gateway/fuzz/corpus/<target>/ (-merge=1).
#   run.sh BUILD_DIR SECONDS [MERGE] [TARGET...]
set -uo pipefail
build=$1 seconds=$2 merge=${3:-0}
shift 3 2>/dev/null || shift $#
cd "$(dirname "$0")"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for exe in "$build"/gateway/fuzz_*; do
    case $exe in *_replay) continue ;; esac
    [ -x "$exe" ] && targets+=("${exe##*/fuzz_}")
  done
fi
scratch=$(mktemp -d /tmp/moongate-fuzz.XXXXXX)
echo "fuzz: ${targets[*]}, ${seconds}s each; scratch in $scratch"
failed=()
for t in "${targets[@]}"; do
  exe=$build/gateway/fuzz_$t
  mkdir -p "$scratch/$t/corpus" "$scratch/$t/artifacts"
  cp corpus/"$t"/* "$scratch/$t/corpus/" 2>/dev/null
  dict=()
  [ -f "$t.dict" ] && dict=(-dict="$t.dict")
  "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -artifact_prefix="$scratch/$t/artifacts/" "${dict[@]}" \
    "$scratch/$t/corpus" >"$scratch/$t/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t/log" | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$scratch/$t/log" | tail -1)
  corp=$(ls "$scratch/$t/corpus" | wc -l)
  printf '%-10s execs %-9s %-22s corpus %s -> %s\n' "$t" "${execs:-?}" "${cov:-?}" \
    "$(ls corpus/"$t" | wc -l)" "$corp"
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    echo "  $t FAILED (exit $rc): $scratch/$t/log; artifacts:"
    ls "$scratch/$t/artifacts" | sed "s|^|    $scratch/$t/artifacts/|"
  elif [ "$merge" = 1 ]; then
    "$exe" -merge=1 "${dict[@]}" corpus/"$t" "$scratch/$t/corpus" >"$scratch/$t/merge.log" 2>&1 \
      && echo "  merged into corpus/$t: $(ls corpus/"$t" | wc -l) files"
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: crashes in ${failed[*]}: add the artifact to gateway/fuzz/corpus/<target>/ as crash_<what> once fixed"
  exit 1
fi
