#!/usr/bin/env bash
# libFuzzer targets of issue #12 (docs/RELIABILITY.md, "Fuzzing").
#
#   Tools/Fuzz/run.sh build                      build the drivers (.build-fuzz/release/SatchelFuzz*)
#   Tools/Fuzz/run.sh <target> [seconds] [flags]  build, then fuzz <target> for [seconds] (default 600)
#                                                 under nice, from a scratch copy of its seed corpus
#   Tools/Fuzz/run.sh replay <target> <file>...   run inputs once (a crash file, to reproduce it)
#
# Targets: manifest richtext packindex changelog bundle backup http.
# Extra flags go to libFuzzer (e.g. -runs=N, -jobs=...). Crash files land in
# .build-fuzz/fuzz-artifacts/<target>/, the log in .build-fuzz/fuzz-logs/<target>-<time>.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
targets="manifest richtext packindex changelog bundle backup http"

# The http target needs SatchelFuzz (server, SwiftNIO, Hummingbird); the others use
# SatchelFuzzOffline, which builds without them.
product() { if [ "$1" = http ]; then echo SatchelFuzz; else echo SatchelFuzzOffline; fi; }
build() {  # build <product> (SATCHEL_FUZZ_SKIP_BUILD=1: use the binary built before, e.g. while
           # another build holds .build-fuzz)
  [ "${SATCHEL_FUZZ_SKIP_BUILD:-}" = 1 ] && return 0
  SATCHEL_LIBFUZZER=1 nice -n 10 swift build -c release --scratch-path .build-fuzz --product "$1" \
    -Xswiftc -sanitize=fuzzer,address >&2
}
binary() { echo "$root/.build-fuzz/release/$1"; }  # (--show-bin-path would wait for a running build)

seeds() {  # seeds <target> <directory>: copy the target's seed corpus
  local target=$1 into=$2
  mkdir -p "$into"
  local dirs="fixtures/fuzz/$target fixtures/fuzz/crashes/$target"
  [ "$target" = manifest ] && dirs="$dirs fixtures/xml/valid fixtures/xml/hostile fixtures/xml/canonical"
  for d in $dirs; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      [ -f "$f" ] && [ "$(basename "$f")" != README.md ] && cp "$f" "$into/$(basename "$d")-$(basename "$f")"
    done
  done
}

case "${1:-}" in
  build) build SatchelFuzzOffline; build SatchelFuzz; binary SatchelFuzz; exit 0 ;;
  replay)
    target=${2:?target}; shift 2
    build "$(product "$target")"
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/satchel-fuzz-replay.XXXXXX")
    trap 'rm -rf "$scratch"' EXIT
    SWIFT_BACKTRACE=enable=no LSAN_OPTIONS="suppressions=$root/Tools/Fuzz/lsan-suppressions.txt" SATCHEL_FUZZ_TARGET=$target \
      SATCHEL_FUZZ_SCRATCH=$scratch "$(binary "$(product "$target")")" -runs=1 "$@"
    exit ;;
  "") echo "usage: $0 build | <target> [seconds] [libFuzzer flags] | replay <target> <file>..." >&2; exit 64 ;;
esac

target=$1; seconds=${2:-600}; shift; [ $# -gt 0 ] && shift
case " $targets " in *" $target "*) ;; *) echo "unknown target $target (one of: $targets)" >&2; exit 64 ;; esac
build "$(product "$target")"
bin=$(binary "$(product "$target")")
base=/dev/shm; [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$base/satchel-fuzz-$target.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
seeds "$target" "$scratch/corpus"
mkdir -p "$scratch/work" ".build-fuzz/fuzz-artifacts/$target" .build-fuzz/fuzz-logs
log=".build-fuzz/fuzz-logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
echo "fuzzing $target for ${seconds}s: $(ls "$scratch/corpus" | wc -l) seeds; log $log" >&2
set +e
# SWIFT_BACKTRACE: Swift's own crash handler would race libFuzzer's (and trip AddressSanitizer).
SWIFT_BACKTRACE=enable=no LSAN_OPTIONS="suppressions=$root/Tools/Fuzz/lsan-suppressions.txt" \
SATCHEL_FUZZ_TARGET=$target SATCHEL_FUZZ_SCRATCH="$scratch/work" nice -n 10 "$bin" \
  -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix=".build-fuzz/fuzz-artifacts/$target/" "$@" "$scratch/corpus" >"$log" 2>&1
status=$?
set -e
grep -E '^(stat::|Done|INFO: Running with|==[0-9]+==ERROR|FINDING|SUMMARY)|^#[0-9]+ *DONE' "$log" >&2 || true
echo "corpus after the run: $(ls "$scratch/corpus" | wc -l) files, $(du -sk "$scratch/corpus" | cut -f1) KiB; exit $status" | tee -a "$log" >&2
exit $status
