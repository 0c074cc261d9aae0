# shellcheck shell=bash
# Sourced by backup.sh and restore.sh: what their command lines share. Messages start with
# the script's name ([backup], [restore]); its header comment is its --help; --compose and
# --help mean the same in both; a database URL is read the same way.

# The script's name in its messages.
script_name="$(basename "$0" .sh)"

log() { printf '[%s] %s\n' "$script_name" "$*" >&2; }
die() {
    printf '[%s] ERROR: %s\n' "$script_name" "$*" >&2
    exit 1
}
# The script's header, from line 2 to `set -euo pipefail`, without the comment marks.
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit "${1:-2}"
}

# mode, read by the script that sources this: url, the database is reached from this
# machine; compose, through the stack's db service.
# shellcheck disable=SC2034
mode=url

# shared_option OPTION: an option both scripts take (the script's own are matched before
# it); any other one is refused with the usage.
# shellcheck disable=SC2034  # mode, as above
shared_option() {
    case "$1" in
    --compose) mode=compose ;;
    -h | --help) usage 0 ;;
    *) log "unknown option: $1"; usage ;;
    esac
}

# libpq understands postgresql://; SQLAlchemy's postgresql+psycopg:// and postgres:// are
# the same database.
libpq_url() {
    local u="$1"
    u="${u/#postgresql+psycopg:\/\//postgresql://}"
    u="${u/#postgresql+psycopg2:\/\//postgresql://}"
    u="${u/#postgres:\/\//postgresql://}"
    printf '%s\n' "$u"
}
