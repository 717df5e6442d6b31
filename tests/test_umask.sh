#!/bin/sh
# A fresh copy of the project built under umask 002 (issue 16, item 1): what a researcher on a
# user-private-group system (Debian, Ubuntu, Fedora) gets from `git clone` and a build. The
# built plugins and their folder must come out go-w whatever the umask, `fanin plugins` and
# `fanin check` must accept them, and so must an installed copy (`cmake --install`).
# usage: tests/test_umask.sh SOURCE_DIR   (registered with ctest as test_umask)
set -eu

umask 002
SRC=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/fanin-umask.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset FANIN_PLUGIN_PATH
fail() { printf 'test_umask: FAILED: %s\n' "$*" >&2; exit 1; }

# what a clone holds that the build reads; cp without -p: new files and folders take the umask
mkdir "$T/src"
for f in CMakeLists.txt cmake core include plugins tools; do cp -R "$SRC/$f" "$T/src/"; done

# Debug: fastest to compile; no tests: only what a user's first build needs
cmake -S "$T/src" -B "$T/build" -DCMAKE_BUILD_TYPE=Debug -DFANIN_BUILD_TESTS=OFF \
    >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "configure"; }
cmake --build "$T/build" -j2 --target fanin_cli fanin initializers activations optimizers \
    >>"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "build"; }

# no write bit for group or others on a plugin file or the plugin folder
go_w_clear() {
    for p in "$@"; do
        mode=$(stat -c %a "$p")
        [ $((0$mode & 022)) -eq 0 ] || fail "$p is mode $mode after the build under umask 002"
    done
}
PLUGINS=$T/build/lib/fanin/plugins
go_w_clear "$PLUGINS" "$PLUGINS"/*.so

FANIN=$T/build/bin/fanin
"$FANIN" plugins >"$T/plugins.txt" 2>&1 || { cat "$T/plugins.txt"; fail "fanin plugins"; }
grep -q he_normal "$T/plugins.txt" || { cat "$T/plugins.txt"; fail "he_normal not listed"; }
"$FANIN" check "$PLUGINS/activations.so" >"$T/check.txt" 2>&1 ||
    { cat "$T/check.txt"; fail "fanin check activations.so"; }
tail -n 1 "$T/check.txt"

# the loader's side: left group-writable (775), they still load when the group is our private
# group (named like us, no other member, nobody else's primary group), as on Debian
G=$(id -g)
if [ "$(id -un)" = "$(id -gn)" ] && getent group "$G" | grep -q ':$' &&
    [ -z "$(getent passwd | awk -F: -v g="$G" -v u="$(id -u)" '$4 == g && $3 != u')" ]; then
    chmod g+w "$PLUGINS" "$PLUGINS"/*.so
    "$FANIN" plugins >"$T/plugins.txt" 2>&1 ||
        { cat "$T/plugins.txt"; fail "fanin plugins, 775 plugin folder of our private group"; }
    chmod go-w "$PLUGINS" "$PLUGINS"/*.so
else
    echo "note: group $(id -gn) is not a private group; the 775 case is left to test_safety"
fi

# an install under umask 002, into a prefix whose plugin folder already exists as 775
mkdir -p "$T/prefix/lib/fanin/plugins"
cmake --install "$T/build" --prefix "$T/prefix" >"$T/install.log" 2>&1 ||
    { cat "$T/install.log"; fail "cmake --install"; }
IPLUGINS=$(dirname "$(find "$T/prefix" -name activations.so | head -n 1)")
go_w_clear "$IPLUGINS" "$IPLUGINS"/*.so
"$T/prefix/bin/fanin" plugins -v >"$T/iplugins.txt" 2>&1 ||
    { cat "$T/iplugins.txt"; fail "the installed fanin plugins"; }
grep -q "file $(cd "$IPLUGINS" && pwd -P)/initializers.so" "$T/iplugins.txt" ||
    { cat "$T/iplugins.txt"; fail "the installed fanin did not load the installed plugins"; }
printf 'test_umask: ok\n'
