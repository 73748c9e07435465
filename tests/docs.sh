#!/bin/sh
# docs.sh SRCDIR - fails when a public function or parameter is missing from
# the manual: every DECAM_API function of include/*.h must appear in docs/,
# every DECAM_PARAM_* of decam.h (by its lower-case name) in docs/api.md.
src="$1"
missing=0
for fn in $(grep -ho 'DECAM_API[^(]*(' "$src"/include/*.h | grep -o 'decam_[a-z0-9_]*' | sort -u); do
    if ! grep -rq "$fn" "$src"/docs/; then
        echo "docs: $fn is not documented in docs/"
        missing=$((missing + 1))
    fi
done
for p in $(grep -o 'DECAM_PARAM_[A-Z_]* = [0-9]*' "$src"/include/decam.h | cut -d' ' -f1); do
    name=$(echo "${p#DECAM_PARAM_}" | tr 'A-Z' 'a-z')
    if ! grep -q "\`$name\`" "$src"/docs/api.md; then
        echo "docs: parameter $name is not in docs/api.md"
        missing=$((missing + 1))
    fi
done
[ "$missing" = 0 ] && echo "docs: every public function and parameter is documented"
[ "$missing" = 0 ]
