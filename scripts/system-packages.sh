#!/bin/sh
# What `make test` needs beyond Python packages, installed only when missing:
#   chromium              /usr/bin/chromium, the browser Playwright drives
#   postgresql            initdb and pg_ctl, for the throwaway PostgreSQL servers
#   default-jre-headless  java, for the Nu HTML validator
#   nodejs, npm           node and npm, for Lighthouse (the audit; npm ci installs it)
# Every check is a shell builtin, so a run that finds everything is instant and silent.
set -eu

# Tests point this at a folder standing in for /; nothing else sets it.
root="${SYSTEM_PACKAGES_ROOT:-}"

have() { command -v "$1" >/dev/null 2>&1; }

# The tests look on PATH, then where Debian's postgresql puts the server programs.
have_pg() {
    have "$1" && return 0
    for found in "$root"/usr/lib/postgresql/*/bin/"$1"; do
        [ -x "$found" ] && return 0
    done
    return 1
}

missing_packages() {
    [ -x "$root/usr/bin/chromium" ] || printf ' chromium'
    { have_pg initdb && have_pg pg_ctl; } || printf ' postgresql'
    have java || printf ' default-jre-headless'
    have node || printf ' nodejs'
    have npm || printf ' npm'
}

describe() {
    for package in $1; do
        case $package in
            chromium) echo "  - Chromium at /usr/bin/chromium (the browser tests)" ;;
            postgresql) echo "  - PostgreSQL's server programs initdb and pg_ctl (the PostgreSQL tests)" ;;
            default-jre-headless) echo "  - Java, the java command (the HTML validator)" ;;
            nodejs) echo "  - Node.js, the node command (Lighthouse, the audit test)" ;;
            npm) echo "  - npm, the npm command (installs Lighthouse)" ;;
        esac
    done
}

stop() {
    printf '%s\n' "$@" >&2
    exit 1
}

missing=$(missing_packages)
[ -n "$missing" ] || exit 0
missing=${missing# }

if ! have apt-get; then
    stop "make test needs programs this machine lacks:" "$(describe "$missing")" \
        "There is no apt-get here: install them with your system's package manager," \
        "then run make test again."
fi

# Ubuntu's chromium package only installs the snap, which is not at
# /usr/bin/chromium and which confinement keeps from running under Playwright.
chromium_note=""
os=$(. "$root/etc/os-release" 2>/dev/null && echo "${ID:-}") || os=""
if [ "$os" = ubuntu ]; then
    case " $missing " in *" chromium "*)
        chromium_note="Chromium: Ubuntu's chromium package is a snap, which the browser tests
cannot use. Install a Chromium or Google Chrome built as a .deb (for example Google
Chrome's own .deb) and link it where the tests look:
  sudo ln -s /usr/bin/google-chrome-stable /usr/bin/chromium
then run make test again."
        rest=""
        for package in $missing; do
            [ "$package" = chromium ] || rest="$rest $package"
        done
        missing=${rest# }
        ;;
    esac
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        run=""
    elif have sudo && sudo -n true >/dev/null 2>&1; then
        run="sudo -n"
    else
        install="apt-get install -y --no-install-recommends $missing"
        if have sudo; then
            command="sudo apt-get update && sudo $install"
        else
            command="su -c 'apt-get update && $install'"
        fi
        stop "make test needs system packages that are not installed:" "$(describe "$missing")" \
            "Install them with this command, then run make test again:" "" "  $command" "" \
            ${chromium_note:+"$chromium_note"}
    fi
    echo "make test: installing $missing (apt-get)"
    # No prompts: exported for root, an argument through sudo (which resets the environment).
    export DEBIAN_FRONTEND=noninteractive
    $run ${run:+DEBIAN_FRONTEND=noninteractive} apt-get update -qq
    $run ${run:+DEBIAN_FRONTEND=noninteractive} \
        apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -z "$chromium_note" ] || stop "$chromium_note"

# A package that installed without its program (say a wrapper) must not pass.
left=$(missing_packages)
if [ -n "$left" ]; then
    stop "apt-get finished, but these are still missing:" "$(describe "${left# }")"
fi
