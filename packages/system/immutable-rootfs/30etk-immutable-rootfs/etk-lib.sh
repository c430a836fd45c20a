#!/bin/sh
# Helpers shared by etk-generator and etk-layout (POSIX sh, sourced).
#
# The callers run with "set -f": the kernel command line is split on blanks
# and must not be globbed.
#
# Test hooks: ETK_CMDLINE replaces the kernel command line, ETK_DEVDIR the
# /dev directory, ETK_DRY_RUN=1 prints mount commands instead of running them.

ETK_DEVDIR="${ETK_DEVDIR:-/dev}"

etk_log() {
    echo "etk: $*" >&2
}

# etk_cmdline prints the kernel command line: arguments dracut baked into the
# initrd first, /proc/cmdline last, so that the latter wins.
etk_cmdline() {
    if [ -n "${ETK_CMDLINE+set}" ]; then
        printf '%s\n' "$ETK_CMDLINE"
        return 0
    fi
    _etk_c=""
    if [ -d /etc/cmdline.d ]; then
        set +f
        for _etk_f in /etc/cmdline.d/*.conf; do
            [ -f "$_etk_f" ] && _etk_c="$_etk_c $(cat "$_etk_f")"
        done
        set -f
    fi
    printf '%s %s\n' "$_etk_c" "$(cat /proc/cmdline)"
}

# etk_getarg KEY prints the value of the last KEY=VALUE argument; it fails
# when there is none.
etk_getarg() {
    _etk_found=1
    _etk_val=""
    for _etk_w in $(etk_cmdline); do
        case "$_etk_w" in
            "$1"=*)
                _etk_val="${_etk_w#"$1"=}"
                _etk_found=0
                ;;
        esac
    done
    [ "$_etk_found" = 0 ] && printf '%s\n' "$_etk_val"
    return "$_etk_found"
}

# etk_getbool KEY succeeds when the last of KEY, KEY=1|yes|true|on,
# KEY=0|no|false|off on the command line is one of the former.
etk_getbool() {
    _etk_r=1
    for _etk_w in $(etk_cmdline); do
        case "$_etk_w" in
            "$1" | "$1"=1 | "$1"=yes | "$1"=true | "$1"=on) _etk_r=0 ;;
            "$1"=0 | "$1"=no | "$1"=false | "$1"=off) _etk_r=1 ;;
        esac
    done
    return "$_etk_r"
}

# etk_dev_path SPEC maps LABEL=, UUID=, PARTLABEL=, PARTUUID= or a /dev path
# to the device node udev creates for it; it fails on anything else.
etk_dev_path() {
    case "$1" in
        LABEL=*) _etk_d="disk/by-label/$(etk_udev_escape "${1#LABEL=}")" ;;
        UUID=*) _etk_d="disk/by-uuid/${1#UUID=}" ;;
        PARTLABEL=*) _etk_d="disk/by-partlabel/$(etk_udev_escape "${1#PARTLABEL=}")" ;;
        PARTUUID=*) _etk_d="disk/by-partuuid/${1#PARTUUID=}" ;;
        /dev/*) _etk_d="${1#/dev/}" ;;
        *) return 1 ;;
    esac
    printf '%s/%s\n' "$ETK_DEVDIR" "$_etk_d"
}

# etk_udev_escape encodes a label the way udev names /dev/disk/by-label links.
etk_udev_escape() {
    printf '%s' "$1" | sed -e 's|\\|\\x5c|g' -e 's|/|\\x2f|g' -e 's| |\\x20|g'
}

# etk_unit_name PATH prints the systemd unit name prefix of PATH
# (/run/etk/state -> run-etk-state).
etk_unit_name() {
    if command -v systemd-escape >/dev/null 2>&1; then
        systemd-escape --path -- "$1"
        return
    fi
    _etk_p="${1#/}"
    _etk_p="${_etk_p%/}"
    printf '%s' "$_etk_p" | sed -e 's|\\|\\x5c|g' -e 's|-|\\x2d|g' -e 's| |\\x20|g' -e 's|/|-|g'
    echo
}

# etk_wait_dev DEV SECONDS waits for a device node to show up (dry runs
# only look once).
etk_wait_dev() {
    _etk_n=0
    while [ ! -e "$1" ]; do
        if [ "$_etk_n" -ge "$2" ] || [ -n "${ETK_DRY_RUN:-}" ]; then
            return 1
        fi
        if command -v udevadm >/dev/null 2>&1; then
            udevadm settle --timeout=1 >/dev/null 2>&1 || :
        fi
        [ -e "$1" ] && break
        sleep 1
        _etk_n=$((_etk_n + 1))
    done
    return 0
}

# etk_run runs a command, or prints it when ETK_DRY_RUN is set.
etk_run() {
    if [ -n "${ETK_DRY_RUN:-}" ]; then
        echo "$*"
        return 0
    fi
    "$@"
}
