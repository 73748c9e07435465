#!/bin/sh
# symbols.sh SHARED [STATIC] - fails if the shared library exports anything
# not named decam_* (the linker version script and hidden visibility keep
# it so), or if the static archive defines a global symbol that is neither
# one of those exports nor prefixed decam__ (internal names are static or
# carry the prefix, so a program linking libdecam.a may use any other name).
lib="$1"
archive="${2:-}"
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
[ -n "$archive" ] || exit 0
[ -f "$archive" ] || { echo "symbols: no such archive: $archive"; exit 1; }
# Sanitizer builds add their own globals (__odr_asan.NAME, __asan_*, ...).
globals=$(nm -g --defined-only "$archive" | awk 'NF == 3 && $2 ~ /^[TDBRVWCGS]$/ {print $3}' |
    grep -v '^__\(odr_asan\|asan\|ubsan\|tsan\|sanitizer\)' | sort -u)
public=$(printf '%s\n' "$exported" | sort -u)
unprefixed=$(printf '%s\n' "$globals" | grep -v '^decam__' | grep -vxF "$public" | grep -v '^$')
internal=$(printf '%s\n' "$globals" | grep -c '^decam__')
if [ -n "$unprefixed" ]; then
    echo "symbols: $(printf '%s\n' "$unprefixed" | wc -l) globals of the static archive are neither public nor decam__*:"
    printf '  %s\n' $unprefixed
    exit 1
fi
echo "symbols: static archive: $internal internal globals, all decam__*; the rest public"
