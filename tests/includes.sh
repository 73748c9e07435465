#!/bin/sh
# includes.sh LIBDIR - fails if the files of lib/ include each other in a
# circle. A file belongs to its part (context.c and context.h are part
# "context"); part A depends on part B when a file of A includes B's
# header. The parts must form no cycle (tsort finds one if there is).
lib="$1"
[ -d "$lib" ] || { echo "includes: no such directory: $lib"; exit 1; }
edges=$(for f in "$lib"/*.c "$lib"/*.h; do
    part=$(basename "$f" | sed 's/\.[ch]$//')
    sed -n 's/^#include "\([a-z0-9_]*\)\.h".*/\1/p' "$f" | while read -r dep; do
        [ -f "$lib/$dep.h" ] && [ "$dep" != "$part" ] && echo "$part $dep"
    done
done)
if ! printf '%s\n' "$edges" | tsort >/dev/null 2>"${TMPDIR:-/tmp}/includes.$$"; then
    echo "includes: lib/ has an include circle:"
    cat "${TMPDIR:-/tmp}/includes.$$"
    rm -f "${TMPDIR:-/tmp}/includes.$$"
    exit 1
fi
if [ -s "${TMPDIR:-/tmp}/includes.$$" ]; then
    echo "includes: lib/ has an include circle:"
    cat "${TMPDIR:-/tmp}/includes.$$"
    rm -f "${TMPDIR:-/tmp}/includes.$$"
    exit 1
fi
rm -f "${TMPDIR:-/tmp}/includes.$$"
echo "includes: $(printf '%s\n' "$edges" | wc -l) dependencies among lib/'s parts, no circle"
