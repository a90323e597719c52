#!/usr/bin/env bash
# Model-checks the change-log / checkpoint / bundle protocol (Tools/Model/sync.pml) with spin.
#   bash Tools/Model/check.sh           # both configurations; exit 0 only if both hold
# Needs spin and a C compiler (Debian: apt-get install -y spin gcc).
# Configurations:
#   base   - changes, crash records, compaction, lost/duplicated/reordered bundles, crashes
#            around the apply, one epoch (the log is never lost)
#   epoch  - the same, and A's change log may be lost once (new epoch, numbering restarts)
#   epoch-p1 - epoch without the P2 assertion, to see whether P1 (no change skipped, no
#            refused clean exchange) holds on its own
set -u
cd "$(dirname "$0")"
command -v spin >/dev/null || { echo "spin not found: apt-get install -y spin" >&2; exit 69; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp sync.pml "$work/"
status=0
for config in base epoch epoch-p1; do
    flags=""
    [ "$config" = epoch ] && flags="-DEPOCH"
    [ "$config" = epoch-p1 ] && flags="-DEPOCH -DNOP2"
    (cd "$work" && rm -f pan* sync.pml.trail && spin $flags -a sync.pml >/dev/null && \
        gcc -O2 -DSAFETY -DCOLLAPSE -DMEMLIM=6000 -o pan pan.c 2>/dev/null) || { echo "$config: spin/gcc failed" >&2; exit 70; }
    out=$(cd "$work" && ./pan -m100000 -n 2>&1)
    errors=$(echo "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p')
    states=$(echo "$out" | grep -E "states, stored|states, matched|transitions" | tr -s ' ' | tr '\n' ';')
    echo "$config: errors $errors; $states"
    if [ "$errors" != "0" ]; then
        status=1
        echo "$out" | grep -E "assertion violated|pan:" | head -3
        echo "--- counterexample ($config):"
        (cd "$work" && spin $flags -t -p sync.pml 2>&1 | grep -E "assert" | tail -3)
    fi
done
exit $status
