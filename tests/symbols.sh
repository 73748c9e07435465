#!/bin/sh
# symbols.sh LIB - fails if the shared library exports anything not named
# decam_* (the linker version script and hidden visibility keep it so).
lib="$1"
[ -f "$lib" ] || { echo "symbols: no such library: $lib"; exit 1; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//')
leaks=$(printf '%s\n' "$exported" | grep -v '^decam_' | grep -v '^$')
count=$(printf '%s\n' "$exported" | grep -c '^decam_')
if [ -n "$leaks" ]; then
    echo "symbols: exported but not decam_*:"
    printf '  %s\n' $leaks
    exit 1
fi
[ "$count" -gt 0 ] || { echo "symbols: no decam_* symbol exported"; exit 1; }
echo "symbols: $count exported, all decam_*"
