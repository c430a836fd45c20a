#!/bin/sh
# etk-cloud-seed: fill cloud-init's NoCloud seed directory at boot.
#
#   user-data, vendor-data, network-config, meta-data: taken from /oem (the OEM
#   partition) when there, else from /system/oem (the image's defaults).
#   user-data defaults to an empty cloud-config. meta-data defaults to
#     instance-id: <HOSTNAME_PREFIX>-<machine-id>
#     local-hostname: <HOSTNAME_PREFIX>-<first 8 hex digits of the machine-id>
#   so that a machine with persistent storage stays the same instance, and one
#   without it is a new instance on every boot.
#
# Test hooks: ETK_SEED_DIR, ETK_OEM_DIR, ETK_SYSTEM_OEM_DIR, ETK_CLOUD_SEED_CONF,
# ETK_MACHINE_ID_FILE.
set -eu

seed="${ETK_SEED_DIR:-/var/lib/cloud/seed/nocloud}"
oem="${ETK_OEM_DIR:-/oem}"
system_oem="${ETK_SYSTEM_OEM_DIR:-/system/oem}"
conf="${ETK_CLOUD_SEED_CONF:-/etc/etk/cloud-seed.conf}"
machine_id_file="${ETK_MACHINE_ID_FILE:-/etc/machine-id}"

HOSTNAME_PREFIX=etk
if [ -f "$conf" ]; then
    while IFS='=' read -r key value; do
        case "$key" in
            HOSTNAME_PREFIX) HOSTNAME_PREFIX="$value" ;;
        esac
    done < "$conf"
fi

# pick NAME prints the first of $oem/NAME, $system_oem/NAME that exists.
pick() {
    for dir in "$oem" "$system_oem"; do
        if [ -f "$dir/$1" ]; then
            printf '%s\n' "$dir/$1"
            return 0
        fi
    done
    return 1
}

parent="$(dirname "$seed")"
mkdir -p "$parent"
tmp="$(mktemp -d "$parent/.nocloud.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

for name in user-data vendor-data network-config meta-data; do
    if src="$(pick "$name")"; then
        cp "$src" "$tmp/$name"
        echo "etk-cloud-seed: $name from $src"
    fi
done

if [ ! -f "$tmp/user-data" ]; then
    printf '#cloud-config\n{}\n' > "$tmp/user-data"
fi

if [ ! -f "$tmp/meta-data" ]; then
    id="$(tr -dc '0-9a-f' < "$machine_id_file" 2>/dev/null || :)"
    if [ -z "$id" ]; then
        id="$(tr -dc '0-9a-f' < /proc/sys/kernel/random/boot_id)"
    fi
    short="$(printf '%s' "$id" | cut -c 1-8)"
    printf 'instance-id: %s-%s\nlocal-hostname: %s-%s\n' \
        "$HOSTNAME_PREFIX" "$id" "$HOSTNAME_PREFIX" "$short" > "$tmp/meta-data"
fi

chmod 0700 "$tmp"
chmod 0600 "$tmp"/*
rm -rf "$seed"
mv "$tmp" "$seed"
trap - EXIT
