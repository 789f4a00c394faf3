# Sourced by the project's scripts (and .ci/run): every go command they run, and those the tests
# run, use the Go toolchain that go.mod names on its `toolchain` line. A machine's own Go may be
# older (the security fixes the release needs are in the newer one), and with GOTOOLCHAIN=local in
# its go.env it ignores go.mod's line; the go command fetches the named toolchain from the module
# proxy like a module (about 76 MB, once per machine). A GOTOOLCHAIN already set wins.
_goenv_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${GOTOOLCHAIN:=$(sed -n 's/^toolchain //p' "$_goenv_root/go.mod")}"
export GOTOOLCHAIN
unset _goenv_root
