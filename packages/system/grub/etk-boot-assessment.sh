#!/bin/sh
# etk-boot-assessment: clear boot_assessment/boot_tries in the GRUB
# environment of the state partition once the active image booted fine.
# Test hook: ETK_BOOT_ENV (default /run/etk/boot.env).
set -eu

boot_env="${ETK_BOOT_ENV:-/run/etk/boot.env}"
[ -f "$boot_env" ] || exit 0
ETK_MODE=""
ETK_STATE_MOUNT=""
while IFS='=' read -r key value; do
    case "$key" in
        ETK_MODE) ETK_MODE="$value" ;;
        ETK_STATE_MOUNT) ETK_STATE_MOUNT="$value" ;;
    esac
done < "$boot_env"

[ "$ETK_MODE" = active ] || exit 0
[ -n "$ETK_STATE_MOUNT" ] || exit 0
grubenv="$ETK_STATE_MOUNT/grub2/grubenv"
[ -f "$grubenv" ] || exit 0

if command -v grub2-editenv >/dev/null 2>&1; then
    editenv=grub2-editenv
else
    editenv=grub-editenv
fi
"$editenv" "$grubenv" list | grep -qx 'boot_assessment=yes' || exit 0

# The state partition is mounted read-only (it backs the root image).
remount=""
if [ ! -w "$ETK_STATE_MOUNT" ]; then
    mount -o remount,rw "$ETK_STATE_MOUNT"
    remount=1
fi
restore() {
    sync
    if [ -n "$remount" ]; then
        mount -o remount,ro "$ETK_STATE_MOUNT"
    fi
}
trap restore EXIT

"$editenv" "$grubenv" unset boot_assessment boot_tries
echo "etk: active system booted fine, boot assessment done"
