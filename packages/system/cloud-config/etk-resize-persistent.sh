#!/bin/sh
# etk-resize-persistent: grow the filesystem on /run/etk/persistent to the
# size of its partition (a no-op when it already fills it).
set -eu

mnt="${1:-/run/etk/persistent}"
dev="$(findmnt -n -o SOURCE --target "$mnt")"
fstype="$(findmnt -n -o FSTYPE --target "$mnt")"

case "$fstype" in
    ext2 | ext3 | ext4)
        resize2fs "$dev"
        ;;
    xfs)
        xfs_growfs "$mnt"
        ;;
    btrfs)
        btrfs filesystem resize max "$mnt"
        ;;
    *)
        echo "etk-resize-persistent: cannot grow $fstype on $dev" >&2
        ;;
esac
