#!/bin/sh
# etk-layout: make the read-only root usable (runs in the initrd, after
# /sysroot is mounted and before the switch to it).
#
#  1. mounts the persistent partition on /run/etk/persistent (not when booting
#     the recovery image, unless PERSISTENT_IN_RECOVERY=yes);
#  2. mounts an overlay on every path of RW_PATHS and PERSISTENT_PATHS, parents
#     before children: upper layers of PERSISTENT_PATHS live on the persistent
#     partition, all others on the OVERLAY backing (tmpfs by default);
#  3. keeps /etc/machine-id on the persistent partition (PERSIST_MACHINE_ID);
#  4. mounts the OEM partition on OEM_MOUNT (/oem);
#  5. writes /run/etk/boot.env for the booted system.
#
# Settings: built-in defaults, then /etc/etk/layout.conf of the initrd, then
# /etc/etk/layout.conf of the booted image, then the kernel command line
# (see README.md). Everything under /run moves into the booted system.

# shellcheck source=SCRIPTDIR/etk-lib.sh
type etk_getarg >/dev/null 2>&1 || . /usr/lib/etk/etk-lib.sh
set -f
set -u

SYSROOT="${ETK_SYSROOT:-/sysroot}"
RUNDIR="${ETK_RUNDIR:-/run/etk}"
STATE_MNT="${ETK_STATE_MNT:-$RUNDIR/state}"
PERSISTENT_MNT="$RUNDIR/persistent"
OVERLAY_MNT="$RUNDIR/overlay"
STATE_SUBDIR=".etk-state"
INITRD_CONF="${ETK_INITRD_CONF:-/etc/etk/layout.conf}"

RW_PATHS="/etc /var /srv /home /root /opt /usr/local"
OVERLAY="tmpfs:25%"
PERSISTENT_DEVICE="LABEL=COS_PERSISTENT"
PERSISTENT_PATHS="/etc/ssh /etc/systemd /home /root /opt /srv /usr/local /var/lib /var/log"
PERSISTENT_TIMEOUT=10
PERSISTENT_IN_RECOVERY=no
PERSIST_MACHINE_ID=yes
OEM_DEVICE="LABEL=COS_OEM"
OEM_MOUNT="/oem"
OEM_TIMEOUT=5

# load_conf FILE reads KEY=VALUE lines; only known keys are taken, nothing is
# executed.
load_conf() {
    [ -f "$1" ] || return 0
    _lineno=0
    while IFS= read -r _line || [ -n "$_line" ]; do
        _lineno=$((_lineno + 1))
        case "$_line" in
            "" | \#*) continue ;;
        esac
        case "$_line" in
            *=*) ;;
            *)
                etk_log "$1:$_lineno: not KEY=VALUE, ignored"
                continue
                ;;
        esac
        _key="${_line%%=*}"
        _val="${_line#*=}"
        case "$_val" in
            \"*\")
                _val="${_val#\"}"
                _val="${_val%\"}"
                ;;
            \'*\')
                _val="${_val#\'}"
                _val="${_val%\'}"
                ;;
        esac
        case "$_key" in
            RW_PATHS) RW_PATHS="$_val" ;;
            OVERLAY) OVERLAY="$_val" ;;
            PERSISTENT_DEVICE) PERSISTENT_DEVICE="$_val" ;;
            PERSISTENT_PATHS) PERSISTENT_PATHS="$_val" ;;
            PERSISTENT_TIMEOUT) PERSISTENT_TIMEOUT="$_val" ;;
            PERSISTENT_IN_RECOVERY) PERSISTENT_IN_RECOVERY="$_val" ;;
            PERSIST_MACHINE_ID) PERSIST_MACHINE_ID="$_val" ;;
            OEM_DEVICE) OEM_DEVICE="$_val" ;;
            OEM_MOUNT) OEM_MOUNT="$_val" ;;
            OEM_TIMEOUT) OEM_TIMEOUT="$_val" ;;
            *) etk_log "$1:$_lineno: unknown key $_key, ignored" ;;
        esac
    done < "$1"
}

# commas prints its argument with commas turned into blanks.
commas() {
    _old_ifs="$IFS"
    IFS=,
    # shellcheck disable=SC2086 # split on commas on purpose (noglob is on)
    set -- $1
    IFS="$_old_ifs"
    echo "$*"
}

# clean_path prints an absolute path without trailing or doubled slashes, or
# fails for relative paths, "/" and paths overlayfs options cannot carry.
clean_path() {
    case "$1" in
        /*) ;;
        *) return 1 ;;
    esac
    case "$1" in
        *,* | *:* | *..*) return 1 ;;
    esac
    _p="$(printf '%s' "$1" | sed -e 's|//*|/|g' -e 's|/$||')"
    [ -n "$_p" ] || return 1
    printf '%s\n' "$_p"
}

# depth prints the number of components of a clean path.
depth() {
    _rest="${1#/}"
    _n=1
    while :; do
        case "$_rest" in
            */*)
                _rest="${_rest#*/}"
                _n=$((_n + 1))
                ;;
            *) break ;;
        esac
    done
    echo "$_n"
}

# state_name gives every path its own directory name: /usr/local -> usr-local,
# /var/lib/foo-bar -> var-lib-foo--bar.
state_name() {
    printf '%s' "${1#/}" | sed -e 's/-/--/g' -e 's|/|-|g'
    echo
}

# in_list WORD LIST
in_list() {
    for _w in $2; do
        [ "$_w" = "$1" ] && return 0
    done
    return 1
}

is_yes() {
    case "$1" in
        1 | y | yes | true | on) return 0 ;;
    esac
    return 1
}

# mount_dev SPEC MOUNTPOINT TIMEOUT OPTIONS: mount an optional partition.
mount_dev() {
    if ! _dev="$(etk_dev_path "$1")"; then
        etk_log "cannot resolve device $1, skipped"
        return 1
    fi
    if ! etk_wait_dev "$_dev" "$3"; then
        etk_log "$1 not found after $3s, skipped"
        return 1
    fi
    if [ -z "${ETK_DRY_RUN:-}" ] && command -v fsck >/dev/null 2>&1; then
        fsck -a "$_dev" >/dev/null 2>&1
        if [ $? -ge 4 ]; then
            etk_log "fsck found errors on $1 it could not fix"
        fi
    fi
    etk_run mkdir -p "$2" || return 1
    if ! etk_run mount -o "$4" "$_dev" "$2"; then
        etk_log "mounting $1 on $2 failed"
        return 1
    fi
    return 0
}

# overlay PATH BACKING: overlay on $SYSROOT/PATH with upper and work
# directories under BACKING.
overlay() {
    _target="$SYSROOT$1"
    _base="$2/$(state_name "$1")"
    if [ ! -d "$_target" ] && [ -z "${ETK_DRY_RUN:-}" ]; then
        if ! mkdir -p "$_target" 2>/dev/null; then
            etk_log "$1 does not exist in the image and its parent is read-only, skipped"
            return 0
        fi
    fi
    etk_run mkdir -p "$_base/upper" "$_base/work" || return 1
    etk_run mount -t overlay "etk-overlay" \
        -o "lowerdir=$_target,upperdir=$_base/upper,workdir=$_base/work" "$_target"
}

load_conf "$INITRD_CONF"
load_conf "$SYSROOT/etc/etk/layout.conf"

if v="$(etk_getarg rd.etk.rw_paths)"; then RW_PATHS="$(commas "$v")"; fi
if v="$(etk_getarg rd.etk.persistent_paths)"; then PERSISTENT_PATHS="$(commas "$v")"; fi
if v="$(etk_getarg rd.etk.overlay)"; then OVERLAY="$v"; fi
if v="$(etk_getarg rd.etk.persistent)"; then PERSISTENT_DEVICE="$v"; fi
if v="$(etk_getarg rd.etk.oem)"; then OEM_DEVICE="$v"; fi

image="$(etk_getarg etk.image)" || image=""
root="$(etk_getarg root)" || root=""
if [ -n "$image" ]; then
    mode="${image##*/}"
    mode="${mode%.*}"
else
    mode=plain
    STATE_MNT=""
fi
etk_getbool rd.etk.recovery && mode=recovery

case "$PERSISTENT_DEVICE" in
    "" | none) PERSISTENT_DEVICE="" ;;
esac
case "$OEM_DEVICE" in
    "" | none) OEM_DEVICE="" ;;
esac
if [ "$mode" = recovery ] && ! is_yes "$PERSISTENT_IN_RECOVERY"; then
    PERSISTENT_DEVICE=""
fi

failed=0

# 1. Persistent partition.
persistent=""
if [ -n "$PERSISTENT_DEVICE" ]; then
    if mount_dev "$PERSISTENT_DEVICE" "$PERSISTENT_MNT" "$PERSISTENT_TIMEOUT" rw; then
        persistent="$PERSISTENT_MNT"
        etk_run mkdir -p "$persistent/$STATE_SUBDIR" || failed=1
    else
        etk_log "no persistent partition: changes to PERSISTENT_PATHS are lost on reboot"
    fi
fi

# 2. Overlays, parents first.
paths=""
for p in $RW_PATHS $PERSISTENT_PATHS; do
    if ! c="$(clean_path "$p")"; then
        etk_log "unusable path '$p', skipped"
        continue
    fi
    in_list "$c" "$paths" || paths="$paths $c"
done

overlay_ready=""
d=1
remaining="$paths"
while [ -n "$remaining" ]; do
    next=""
    for p in $remaining; do
        if [ "$(depth "$p")" -ne "$d" ]; then
            next="$next $p"
            continue
        fi
        if [ -n "$persistent" ] && in_list "$p" "$PERSISTENT_PATHS"; then
            backing="$persistent/$STATE_SUBDIR"
        else
            if [ -z "$overlay_ready" ]; then
                etk_run mkdir -p "$OVERLAY_MNT" || failed=1
                case "$OVERLAY" in
                    tmpfs | tmpfs:*)
                        size="${OVERLAY#tmpfs}"
                        size="${size#:}"
                        etk_run mount -t tmpfs -o "mode=0755,size=${size:-25%}" etk-overlay "$OVERLAY_MNT" || failed=1
                        ;;
                    *)
                        if ! mount_dev "$OVERLAY" "$OVERLAY_MNT" 30 rw; then
                            etk_log "overlay device $OVERLAY unusable, falling back to tmpfs"
                            etk_run mount -t tmpfs -o "mode=0755,size=25%" etk-overlay "$OVERLAY_MNT" || failed=1
                        fi
                        ;;
                esac
                overlay_ready=1
            fi
            backing="$OVERLAY_MNT"
        fi
        if ! overlay "$p" "$backing"; then
            etk_log "overlay on $p failed"
            failed=1
        fi
    done
    remaining="$next"
    d=$((d + 1))
done

# 3. A stable machine-id when there is persistent storage: systemd fills the
# empty file on the first boot and the bind mount keeps it.
if [ -n "$persistent" ] && is_yes "$PERSIST_MACHINE_ID" && ! in_list /etc "$PERSISTENT_PATHS"; then
    id_file="$persistent/$STATE_SUBDIR/machine-id"
    if [ -z "${ETK_DRY_RUN:-}" ]; then
        [ -f "$id_file" ] || : > "$id_file"
        [ -e "$SYSROOT/etc/machine-id" ] || : > "$SYSROOT/etc/machine-id"
    fi
    etk_run mount --bind "$id_file" "$SYSROOT/etc/machine-id" || failed=1
fi

# 4. OEM partition, last: its mount point may sit in an overlay.
oem=""
if [ -n "$OEM_DEVICE" ] && c="$(clean_path "$OEM_MOUNT")"; then
    if mount_dev "$OEM_DEVICE" "$SYSROOT$c" "$OEM_TIMEOUT" rw; then
        oem="$c"
    fi
fi

# 5. What the booted system needs to know about this boot.
boot_env="ETK_MODE=$mode
ETK_IMAGE=$image
ETK_ROOT=$root
ETK_STATE_MOUNT=$STATE_MNT
ETK_PERSISTENT_MOUNT=$persistent
ETK_OVERLAY=$OVERLAY
ETK_OEM_MOUNT=$oem"
if [ -n "${ETK_DRY_RUN:-}" ]; then
    printf '%s\n' "$boot_env"
else
    mkdir -p "$RUNDIR"
    printf '%s\n' "$boot_env" > "$RUNDIR/boot.env"
fi

if [ "$failed" -ne 0 ]; then
    etk_log "layout incomplete"
    exit 1
fi
exit 0
