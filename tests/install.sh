#!/usr/bin/env bash
# install.sh SRC - installs libdecam as the README's "Building and linking"
# tells a C user to, and checks that what was installed works without
# LD_LIBRARY_PATH: the installed decam-explain runs, and a small program
# built with the README's own pkg-config commands links and runs.
#
# The README's commands are read from the README itself and run with HOME
# set to a temporary folder, so "$HOME/.local" is a fresh prefix; `build`
# becomes a temporary build folder of SRC (-Dtests=disabled
# -Dopencv=disabled keep it short). Then the same build, reconfigured with
# a two-level libdir (lib/<sub>, as Debian's multiarch lib/x86_64-linux-gnu
# is), installs again: decam-explain's rpath follows libdir. Everything is
# written in one mktemp -d folder, removed at the end. Skips (status 77)
# when a tool is missing.
set -u
src=${1:?usage: install.sh SRC}
for tool in meson ninja pkg-config cc; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
block=$(awk '/^## Building and linking/ { want = 1 } want && /^```sh$/ { on = 1; next }
             on && /^```$/ { exit } on { print }' "$src/README.md")
if ! printf '%s\n' "$block" | grep -q '^meson setup build '; then
    echo "FAIL: no \"meson setup build\" under \"## Building and linking\" in README.md"
    exit 1
fi
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
home=$work/home
mkdir -p "$home"
unset LD_LIBRARY_PATH PKG_CONFIG_PATH

# The README's block, `build` pointing at the temporary build of SRC.
script=$(printf '%s\n' "$block" |
    sed -e "s|^meson setup build |meson setup \"\$BUILD\" \"\$SRC\" -Dtests=disabled -Dopencv=disabled |" \
        -e "s|-C build|-C \"\$BUILD\"|g")
cat >"$work/app.c" <<'EOF'
#include <decam.h>
#include <stdio.h>
int main(void) {
    decam_ctx *ctx = decam_create();
    if (!ctx) return 1;
    printf("libdecam %s\n", decam_version_string());
    decam_free(ctx);
    return 0;
}
EOF
echo "---- the README's commands, HOME=$home:"
printf '%s\n' "$script"
if ! (cd "$work" && HOME=$home BUILD=$work/build SRC=$src bash -euc "$script" >"$work/log" 2>&1 &&
      ./app >"$work/app.out"); then
    echo "FAIL: the README's commands failed:"
    tail -n 30 "$work/log"
    exit 1
fi
failed=0
grep -q '^libdecam [0-9]' "$work/app.out" || { echo "FAIL: app printed: $(cat "$work/app.out")"; failed=1; }
explain=$home/.local/bin/decam-explain
if out=$("$explain" --version 2>&1); then
    echo "installed: $(printf '%s' "$out" | head -n 1)"
else
    echo "FAIL: $explain --version: $out"
    failed=1
fi

# A two-level libdir: the rpath is $ORIGIN/../lib/<sub>.
meson configure "$work/build" -Dlibdir=lib/sub >>"$work/log" 2>&1 &&
    rm -rf "$home/.local/lib" &&
    ninja -C "$work/build" >>"$work/log" 2>&1 && meson install -C "$work/build" >>"$work/log" 2>&1 ||
    { echo "FAIL: the install with libdir lib/sub failed:"; tail -n 30 "$work/log"; exit 1; }
if [ -f "$home/.local/lib/sub/pkgconfig/decam.pc" ] && out=$("$explain" --version 2>&1); then
    echo "with libdir lib/sub: $(printf '%s' "$out" | head -n 1)"
else
    echo "FAIL: with libdir lib/sub: $explain --version: $out"
    failed=1
fi
[ "$failed" = 0 ] && echo "install: ok"
exit "$failed"
