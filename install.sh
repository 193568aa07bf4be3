#!/bin/sh
# mailstead installer. Checks that this is Debian 12 or 13, gets the mailstead binary, installs it
# atomically as /usr/local/sbin/mailstead (re-running upgrades in place) with its shell
# completions (bash, zsh, fish) and man page, and starts it on the terminal, even under
# `curl | sh` (it reads /dev/tty). Made only of functions and ending in `main "$@" || exit 1`, so
# a cut-short download runs nothing.
#
# Where the binary comes from, first match wins:
#   MAILSTEAD_BINARY=PATH    this already-built binary (no toolchain, no network)
#   --from-source            only when asked: the checkout this script is in (next to mailstead's
#                            Cargo.toml) is built as root, so it must be owned by root (or by
#                            the user who ran sudo) and writable by nobody else, all the way
#                            up; installs the Rust toolchain through rustup when cargo is missing
#   the release tree         otherwise (what `curl -fsSL BASE/install.sh | sh` gets): downloads
#                            BASE/VERSION/mailstead-ARCH-linux and its .sha256 with curl or wget,
#                            and installs nothing unless the SHA-256 matches
#
# Environment (all optional):
#   MAILSTEAD_BASE_URL=URL   the release tree (a mirror, a test server); the default is
#                            DEFAULT_BASE_URL below. Only this override may be plain http://.
#   MAILSTEAD_VERSION=V      the release to get, e.g. 0.1.0 (default: latest)
#   DESTDIR=DIR              stage the files under DIR (packaging, tests): no OS or root check,
#                            and nothing is started; DIR/usr/local/sbin/mailstead and so on
#
# Usage: install.sh [--help] [--no-run] [--from-source] [MAILSTEAD ARGS...]; see usage() below.
set -u
DESTDIR=${DESTDIR:-}

# The published release tree. A placeholder until the first release is published (README).
DEFAULT_BASE_URL=https://releases.mailstead.example
ANSWERS=/etc/mailstead/mailstead.yaml

BIN=/usr/local/sbin/mailstead
BASH_COMPLETION=/usr/share/bash-completion/completions/mailstead
ZSH_COMPLETION=/usr/share/zsh/vendor-completions/_mailstead
FISH_COMPLETION=/usr/share/fish/vendor_completions.d/mailstead.fish
MAN_PAGE=/usr/share/man/man1/mailstead.1

# The download's temporary directory, removed on every way out.
TMP_DIR=""

usage() {
    cat <<EOF
mailstead installer: Debian 12 (bookworm) and 13 (trixie), x86_64 and aarch64.

Usage:
  curl -fsSL $DEFAULT_BASE_URL/install.sh | sh
  curl -fsSL $DEFAULT_BASE_URL/install.sh \\
    | sh -s -- [--no-run] [MAILSTEAD ARGS...]
  ./install.sh --from-source [--no-run] [MAILSTEAD ARGS...]
                 (builds this checkout)

Installs /usr/local/sbin/mailstead (atomically; run again to upgrade), its
shell completions and man page, then starts it: with no arguments the wizard
on the terminal (/dev/tty, also under 'curl | sh'); with arguments
'mailstead ARGS...', e.g. unattended:
  curl -fsSL $DEFAULT_BASE_URL/install.sh \\
    | sh -s -- install --config $ANSWERS --yes
With no terminal and no arguments it prints that command and exits 1,
changing nothing.

Options:
  --no-run       install, start nothing
  --from-source  build the checkout this script is in (as root: it must be
                 owned by root, or by the user who ran sudo, and writable by
                 nobody else)
  -h, --help     this help

Environment:
  MAILSTEAD_BASE_URL=URL   release tree to download from; only this override
                           may use plain http://, for a mirror or a test;
                           default: $DEFAULT_BASE_URL
  MAILSTEAD_VERSION=V      release to install (default: latest)
  MAILSTEAD_BINARY=PATH    install this binary instead (no download, no build)
  DESTDIR=DIR              stage the files under DIR; no OS check, nothing
                           started
EOF
}

say() { printf 'mailstead-install: %s\n' "$1"; }
cleanup() {
    if [ -n "$TMP_DIR" ]; then
        rm -rf "$TMP_DIR"
        TMP_DIR=""
    fi
    # Staged files of an install that stopped half-way (see install_all).
    installed_files | while IFS= read -r f; do
        rm -f "$f.new"
    done
}
err() {
    say "error: $1" >&2
    cleanup
    exit 1
}
need_cmd() { command -v "$1" >/dev/null 2>&1 || err "need '$1' (command not found)"; }
# Run a command or stop, naming it.
ensure() { "$@" || err "command failed: $*"; }

check_os() {
    [ "$(id -u)" = 0 ] || err "run as root (sudo sh, or sudo ./install.sh): mailstead configures the whole server"
    [ -r /etc/os-release ] || err "no /etc/os-release: mailstead supports Debian 12 and 13 only"
    # shellcheck disable=SC1091
    . /etc/os-release
    case "${ID:-}:${VERSION_ID:-}" in
        debian:12 | debian:13) ;;
        *) err "mailstead supports Debian 12 (bookworm) and Debian 13 (trixie); this is ${PRETTY_NAME:-unknown}" ;;
    esac
}

# True when the wizard can ask: stdout is a terminal and /dev/tty opens (under `curl | sh`
# stdin is the pipe, so the wizard reads /dev/tty instead).
have_terminal() {
    [ -t 1 ] && (: </dev/tty) 2>/dev/null
}

# The checkout this script is in, if it is run as a file from one; empty under `curl | sh`
# ($0 is then the shell's name) or as a download next to no Cargo.toml.
checkout_dir() {
    case "$0" in
        */install.sh | install.sh) ;;
        *) return 0 ;;
    esac
    d=$(cd "$(dirname "$0")" 2>/dev/null && pwd -P) || return 0
    if [ -f "$d/Cargo.toml" ] && grep -q '^name = "mailstead"' "$d/Cargo.toml"; then
        printf '%s\n' "$d"
    fi
}

# The owners a source tree built as root may have: root, this user, and the user who ran sudo
# (they could run the build as root anyway). Nobody else: `cargo build` runs build scripts.
trusted_owner() {
    [ "$1" = 0 ] || [ "$1" = "$(id -u)" ] || { [ -n "${SUDO_UID:-}" ] && [ "$1" = "$SUDO_UID" ]; }
}

# Refuses to build $1 unless nobody but a trusted owner can change what is built: every
# directory above it owned by a trusted owner and not writable by others (a sticky one, like
# /tmp, only lets its owners rename their own entries), and every entry inside owned by a
# trusted owner and writable by nobody else (symlinks aside: their targets are checked where
# they lie inside).
check_source_tree() {
    need_cmd stat
    need_cmd find
    up=$1
    while :; do
        info=$(stat -L -c '%u %a' "$up") || err "cannot stat $up"
        owner=${info% *}
        mode=${info#* }
        trusted_owner "$owner" || err "$up is owned by uid $owner: a build as root would run what that user can change; build from a copy owned by root"
        if [ $(( 0$mode & 022 )) != 0 ]; then
            # /tmp and the like: sticky, so others cannot rename or replace what is ours inside
            if [ "$up" = "$src_root" ] || [ $(( 0$mode & 01000 )) = 0 ]; then
                err "$up is writable by others (mode $mode): fix with 'chmod go-w $up', or build from a copy owned by root"
            fi
        fi
        [ "$up" = / ] && break
        up=$(dirname "$up")
    done
    bad=$(find "$src_root" -xdev ! -type l \( -perm -0020 -o -perm -0002 \) -print 2>/dev/null | head -n 1)
    [ -z "$bad" ] || err "$bad is writable by group or others: fix with 'chmod -R go-w $src_root'; nothing was built"
    out=$(find "$src_root" -xdev -type l ! -path "$src_root/target/*" -print 2>/dev/null | while IFS= read -r l; do
        t=$(readlink -f "$l") || t=""
        case "$t" in "$src_root"/*) ;; *) printf '%s\n' "$l" ;; esac
    done | head -n 1)
    [ -z "$out" ] || err "$out points outside $src_root: a build as root would read what it points to; nothing was built"
    for who in $(find "$src_root" -xdev ! -type l -printf '%U\n' 2>/dev/null | sort -u); do
        trusted_owner "$who" || err "$src_root holds files owned by uid $who (find $src_root -uid $who): a build as root would run them; nothing was built"
    done
}

# The Rust toolchain of this user, found through the password database: under sudo $HOME
# may still be the caller's, whose ~/.cargo root must not run.
ensure_toolchain() {
    home=$(getent passwd "$(id -u)" | cut -d: -f6)
    [ -n "$home" ] || home=/root
    if command -v cargo >/dev/null 2>&1; then
        return 0
    fi
    if [ -x "$home/.cargo/bin/cargo" ]; then
        PATH="$home/.cargo/bin:$PATH"
        return 0
    fi
    say "installing a C linker and the Rust toolchain (rustup, minimal profile)"
    ensure env DEBIAN_FRONTEND=noninteractive apt-get install -y -q gcc libc6-dev curl ca-certificates
    rustup_init=$(mktemp) || err "mktemp failed"
    ensure curl --proto '=https' --tlsv1.2 -sSf -o "$rustup_init" https://sh.rustup.rs
    ensure env HOME="$home" sh "$rustup_init" -y --profile minimal
    rm -f "$rustup_init"
    PATH="$home/.cargo/bin:$PATH"
}

# Builds mailstead from the checkout in $1; sets `built` to the binary.
build() {
    src_root=$1
    check_source_tree "$1"
    ensure_toolchain
    need_cmd cargo
    say "building mailstead (release) from the checkout in $1"
    ensure cargo build --release --locked --manifest-path "$1/Cargo.toml"
    built=$1/target/release/mailstead
}

# The release's name for this machine's architecture; refuses the others by name.
release_arch() {
    m=$(uname -m) || err "uname -m failed"
    case "$m" in
        x86_64 | amd64) echo x86_64 ;;
        aarch64 | arm64) echo aarch64 ;;
        *) err "mailstead is released for x86_64 and aarch64 only; this machine is $m" ;;
    esac
}

# The release tree's URL: the override (https or, for a mirror or a test, http) or the default
# (https). Prints it without a trailing slash.
base_url() {
    url=${MAILSTEAD_BASE_URL:-$DEFAULT_BASE_URL}
    case "$url" in
        https://?*) ;;
        http://?*)
            [ -n "${MAILSTEAD_BASE_URL:-}" ] || err "the default base URL must be https: $url"
            ;;
        *) err "MAILSTEAD_BASE_URL=$url: not an http:// or https:// URL" ;;
    esac
    printf '%s\n' "${url%/}"
}

# download URL FILE: curl, else wget; https only unless the URL is plain http (an override).
download() {
    if command -v curl >/dev/null 2>&1; then
        say "downloading $1 (curl)"
        case "$1" in
            https://*) curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "$2" "$1" ;;
            *) curl -fsSL --retry 3 -o "$2" "$1" ;;
        esac
    elif command -v wget >/dev/null 2>&1; then
        say "downloading $1 (wget)"
        case "$1" in
            https://*) wget --https-only -q -O "$2" "$1" ;;
            *) wget -q -O "$2" "$1" ;;
        esac
    else
        err "need curl or wget to download mailstead (apt-get install curl)"
    fi
}

# Downloads the release binary for this machine into a temporary directory and checks its
# SHA-256 against the release's .sha256 file; sets `built` to it. A mismatch names both sums.
fetch_release() {
    need_cmd uname
    need_cmd mktemp
    need_cmd sha256sum
    arch=$(release_arch) || exit 1
    base=$(base_url) || exit 1
    version=${MAILSTEAD_VERSION:-latest}
    name=mailstead-$arch-linux
    url=$base/$version/$name
    TMP_DIR=$(mktemp -d) || err "mktemp -d failed"
    download "$url" "$TMP_DIR/$name" ||
        err "download failed: $url (no $arch build in release '$version'?); nothing was installed"
    download "$url.sha256" "$TMP_DIR/$name.sha256" ||
        err "download failed: $url.sha256; nothing was installed"
    expected=$(sed -n '1s/^\([0-9a-fA-F]\{64\}\)\( .*\)\{0,1\}$/\1/p' "$TMP_DIR/$name.sha256" | tr 'A-F' 'a-f')
    [ -n "$expected" ] || err "$url.sha256 holds no SHA-256; nothing was installed"
    actual=$(sha256sum "$TMP_DIR/$name" | cut -d ' ' -f 1) || err "sha256sum failed"
    if [ "$actual" != "$expected" ]; then
        say "error: SHA-256 mismatch for $url" >&2
        say "  expected $expected (from $url.sha256)" >&2
        say "  got      $actual (the downloaded file)" >&2
        err "the download is damaged or was tampered with; nothing was installed"
    fi
    say "SHA-256 verified: $actual"
    ensure chmod 0755 "$TMP_DIR/$name"
    "$TMP_DIR/$name" --version >/dev/null 2>&1 ||
        err "the downloaded binary does not run on this machine ($(uname -m)); nothing was installed"
    built=$TMP_DIR/$name
}

# Every file this script installs: each is written as FILE.new next to it first, and renamed
# into place only once all of them are ready.
installed_files() {
    printf '%s\n' "$DESTDIR$BIN" "$DESTDIR$BASH_COMPLETION" "$DESTDIR$ZSH_COMPLETION" \
        "$DESTDIR$FISH_COMPLETION" "$DESTDIR$MAN_PAGE"
}

# Writes the output of a command to DEST.new (mode 0644).
stage_output() {
    dest=$1
    shift
    ensure install -d "$(dirname "$dest")"
    "$@" >"$dest.new" || err "command failed: $*"
    ensure chmod 0644 "$dest.new"
}

# The binary, its completions and its man page (generated by the binary from its own command
# definitions), all or nothing as far as a script can: everything is staged first, then only
# renames follow, the binary first (a running mailstead keeps its old file; nobody sees half a
# binary). Re-running replaces each file in place.
install_all() {
    target=$DESTDIR$BIN # not `dest`: stage_output sets that (sh has no locals)
    was=""
    if [ -x "$target" ]; then
        was=$("$target" --version 2>/dev/null) || was="an older mailstead"
    fi
    stage_output "$DESTDIR$BASH_COMPLETION" "$1" completions bash
    stage_output "$DESTDIR$ZSH_COMPLETION" "$1" completions zsh
    stage_output "$DESTDIR$FISH_COMPLETION" "$1" completions fish
    stage_output "$DESTDIR$MAN_PAGE" "$1" man
    ensure install -d "$(dirname "$target")"
    ensure install -m 0755 "$1" "$target.new"
    installed_files | while IFS= read -r f; do
        mv -f "$f.new" "$f" || exit 1
    done || err "could not move the new files into place (see above)"
    now=$("$target" --version 2>/dev/null) || now=mailstead
    if [ -n "$was" ]; then
        say "upgraded $target: $was -> $now"
    else
        say "installed $target ($now)"
    fi
    say "installed completions (bash, zsh, fish) and the man page (man mailstead)"
}

# No one to ask and nothing to do unattended: say how to run it unattended, change nothing.
no_terminal() {
    if [ -n "$1" ]; then
        how="$1/install.sh --from-source install --config $ANSWERS --yes"
    else
        how="curl -fsSL $(base_url)/install.sh | sh -s -- install --config $ANSWERS --yes"
        if [ -n "${MAILSTEAD_BASE_URL:-}" ]; then
            how="curl -fsSL $(base_url)/install.sh | MAILSTEAD_BASE_URL=$(base_url) sh -s -- install --config $ANSWERS --yes"
        fi
    fi
    say "no terminal to ask on (stdout is not a terminal or /dev/tty cannot be opened)." >&2
    say "nothing was installed or changed. To install unattended, write the answers file" >&2
    say "$ANSWERS (its format: README, 'The answers file') and run:" >&2
    printf '\n    %s\n\n' "$how" >&2
    exit 1
}

main() {
    run=yes
    from_source=no
    while [ "$#" -gt 0 ]; do
        case "$1" in
            -h | --help)
                usage
                return 0
                ;;
            --no-run) run=no ;;
            --from-source) from_source=yes ;;
            *) break ;;
        esac
        shift
    done
    if [ -z "$DESTDIR" ]; then
        check_os
    fi
    # A checkout is built only when asked: a Cargo.toml next to a downloaded install.sh (in
    # /tmp, say) may be anybody's.
    checkout=""
    if [ "$from_source" = yes ]; then
        [ -z "${MAILSTEAD_BINARY:-}" ] || err "--from-source and MAILSTEAD_BINARY: choose one"
        checkout=$(checkout_dir)
        [ -n "$checkout" ] || err "--from-source: this install.sh is not in a mailstead checkout (run ./install.sh --from-source from a clone)"
    fi
    # Decided before anything is fetched or written: with no one to ask and nothing to run
    # unattended, stop here.
    if [ -z "$DESTDIR" ] && [ "$run" = yes ] && [ "$#" -eq 0 ] && ! have_terminal; then
        no_terminal "$checkout"
    fi
    if [ -n "${MAILSTEAD_BINARY:-}" ]; then
        if [ ! -f "$MAILSTEAD_BINARY" ] || [ ! -x "$MAILSTEAD_BINARY" ]; then
            err "MAILSTEAD_BINARY=$MAILSTEAD_BINARY: not an executable file"
        fi
        built=$MAILSTEAD_BINARY
    elif [ -n "$checkout" ]; then
        build "$checkout"
    else
        fetch_release
    fi
    install_all "$built"
    cleanup
    if [ -n "$DESTDIR" ]; then
        say "staged under $DESTDIR; nothing was started"
        return 0
    fi
    if [ "$run" = no ]; then
        say "installed; run 'mailstead' to start (--no-run: nothing was started)"
        return 0
    fi
    if [ "$#" -gt 0 ]; then
        exec "$BIN" "$@"
    fi
    # Under `curl | sh` stdin is the pipe: the wizard reads the terminal instead.
    say "starting mailstead"
    exec "$BIN" </dev/tty
}

main "$@" || exit 1
