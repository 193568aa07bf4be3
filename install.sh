#!/bin/sh
# mailstead installer (from a checkout): checks the OS, builds mailstead, installs it as
# /usr/local/sbin/mailstead and starts it on the terminal. Made only of functions and ending
# in `main "$@" || exit 1`, so a cut-short download runs nothing.
set -u

BIN=/usr/local/sbin/mailstead

say() { printf 'mailstead-install: %s\n' "$1"; }
err() {
    say "error: $1" >&2
    exit 1
}
need_cmd() { command -v "$1" >/dev/null 2>&1 || err "need '$1' (command not found)"; }
# Run a command or stop, naming it.
ensure() { "$@" || err "command failed: $*"; }

check_os() {
    [ "$(id -u)" = 0 ] || err "run as root (sudo ./install.sh): mailstead configures the whole server"
    [ -r /etc/os-release ] || err "no /etc/os-release: mailstead supports Debian 12 and 13 only"
    # shellcheck disable=SC1091
    . /etc/os-release
    case "${ID:-}:${VERSION_ID:-}" in
        debian:12 | debian:13) ;;
        *) err "mailstead supports Debian 12 (bookworm) and Debian 13 (trixie); this is ${PRETTY_NAME:-unknown}" ;;
    esac
}

ensure_toolchain() {
    if command -v cargo >/dev/null 2>&1; then
        return 0
    fi
    if [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
        PATH="${HOME:-/root}/.cargo/bin:$PATH"
        return 0
    fi
    say "installing a C linker and the Rust toolchain (rustup, minimal profile)"
    ensure env DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc libc6-dev curl ca-certificates
    rustup_init=$(mktemp) || err "mktemp failed"
    ensure curl --proto '=https' --tlsv1.2 -sSf -o "$rustup_init" https://sh.rustup.rs
    ensure sh "$rustup_init" -y --profile minimal
    rm -f "$rustup_init"
    PATH="${HOME:-/root}/.cargo/bin:$PATH"
}

main() {
    check_os
    here=$(cd "$(dirname "$0")" && pwd) || err "cannot find the checkout"
    [ -f "$here/Cargo.toml" ] ||
        err "run install.sh from a checkout of mailstead (prebuilt, checksum-verified downloads are not published yet)"
    ensure_toolchain
    need_cmd cargo
    say "building mailstead (release)"
    ensure cargo build --release --locked --manifest-path "$here/Cargo.toml"
    ensure install -m 0755 "$here/target/release/mailstead" "$BIN"
    say "installed $BIN"
    if [ "$#" -gt 0 ]; then
        exec "$BIN" "$@"
    fi
    # Under `curl | sh` stdin is the pipe: the wizard reads the terminal instead.
    if [ -t 1 ] && (: </dev/tty) 2>/dev/null; then
        exec "$BIN" </dev/tty
    fi
    say "no terminal to ask on: write an answers file (see README) and run '$BIN install --config FILE --yes'"
}

main "$@" || exit 1
