#!/bin/sh
# readme_c.sh README OUT.c - writes the README's C example ("The API in 20
# lines") as a complete program: the lines up to the model callback's
# closing brace at file scope, the rest as the body of main(), after a
# prelude that gives the names the README leaves to the reader (the image
# size, an image, a network). tests/meson.build compiles and runs it, so
# the first C a reader sees builds against the real header and runs.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 README OUT.c" >&2; exit 2; }
snippet=$(awk '/^## The API in 20 lines/ { want = 1 } want && /^```c$/ { on = 1; next }
               on && /^```$/ { exit } on { print }' "$1")
[ -n "$snippet" ] || { echo "$0: no C example under \"## The API in 20 lines\" in $1" >&2; exit 1; }
{
    echo '#include <stdio.h>'
    echo 'enum { W = 16, H = 12, C = 3 };'
    echo 'static float image[W * H * C];'
    echo 'static int network_storage, *my_network = &network_storage;'
    echo 'static float run_my_network(void *net, const float *im) { (void)net; return im[0] + im[W * C + 3]; }'
    printf "%s\n" "$snippet" | awk '!done { print } !done && /^}$/ { done = 1; print "int main(void) {"; next }
                          done { print "    " $0 }'
    echo '    for (int i = 0; i < W * H; i++) if (!(map[i] >= 0 && map[i] <= 1)) return 1;'
    echo '    return st != DECAM_OK;'
    echo '}'
} >"$2"
