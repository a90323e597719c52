#!/bin/sh
# Counts the public declarations of each library module and how many lack a `///` doc comment.
# Usage: Tools/Scripts/doc-coverage.sh [--list] [MODULE...]   (default: every module in Sources/)
# A declaration is a line starting with `public` or `open` (after attributes), other than
# `public import` and `public extension`. Members that only satisfy a protocol requirement
# (description, ==, <, hash(into:), encode(to:), init(from:), and Manifest's init(element:) and
# vocabulary) inherit the protocol's documentation and are not counted. A declaration is
# documented when the line above it (skipping attribute lines) is a `///` comment or closes a
# `/** */` block.
cd "$(dirname "$0")/../.." || exit 1
list=0
if [ "$1" = "--list" ]; then list=1; shift; fi
modules="$*"
[ -n "$modules" ] || modules=$(ls Sources | grep '^Satchel')
total_all=0; missing_all=0
for module in $modules; do
    result=$(find "Sources/$module" -name '*.swift' | sort | xargs awk -v list="$list" '
        FNR == 1 { prev = "" }
        {
            line = $0
            sub(/^[ \t]+/, "", line)
            decl = line
            while (decl ~ /^@[A-Za-z_]+(\([^)]*\))?[ \t]+/) sub(/^@[A-Za-z_]+(\([^)]*\))?[ \t]+/, "", decl)
            if (decl ~ /^(public|open)[ \t]/ && decl !~ /^public[ \t]+(import|extension)[ \t]/ &&
                decl !~ /(var description|var debugDescription|func ==|func <|func hash\(into|func encode\(to|init\(from decoder|init\(element:|static let vocabulary)/) {
                total++
                if (prev !~ /^\/\/\// && prev !~ /\*\/$/) {
                    missing++
                    if (list) printf "%s:%d: %s\n", FILENAME, FNR, line > "/dev/stderr"
                }
            }
            if (line !~ /^@[A-Za-z_]+(\([^)]*\))?$/ && line != "") prev = line
        }
        END { printf "%d %d\n", total, missing }')
    set -- $result
    printf "%-18s %5d public declarations, %5d without a doc comment\n" "$module" "$1" "$2"
    total_all=$((total_all + $1)); missing_all=$((missing_all + $2))
done
printf "%-18s %5d public declarations, %5d without a doc comment\n" "total" "$total_all" "$missing_all"
