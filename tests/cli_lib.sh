# cli_lib.sh - what the CLI's test scripts share; sourced by tests/cli*.sh
# after they set `exe` (the decam-explain to test) and `py` (a python3, or
# empty). Counts checks in `passed` and `failed`.
failed=0
passed=0

fail() {
    echo "FAIL: $*"
    failed=$((failed + 1))
}
ok() { passed=$((passed + 1)); }

# expect STATUS TEXT ARGS...: runs the CLI, checks the exit status and that
# TEXT appears in what it printed (stdout and stderr).
expect() {
    local want=$1 text=$2
    shift 2
    local out got
    out=$("$exe" "$@" 2>&1)
    got=$?
    if [ "$got" != "$want" ] || ! printf '%s' "$out" | grep -q -- "$text"; then
        fail "decam-explain $* -> status $got (want $want), output:"
        printf '%s\n' "$out" | sed 's/^/    /'
    else
        ok
    fi
}

# check WHAT PYTHON-CODE ARGS...: a check written in Python.
check() {
    local what=$1 code=$2
    shift 2
    if "$py" -c "$code" "$@"; then ok; else fail "$what"; fi
}
