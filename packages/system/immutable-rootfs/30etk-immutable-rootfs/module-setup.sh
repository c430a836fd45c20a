#!/bin/bash
# dracut module etk-immutable-rootfs: boot a read-only system image with
# writable overlays. See README.md of the etk system/immutable-rootfs package.
# shellcheck disable=SC2154 # moddir, systemdutildir, systemdsystemunitdir: set by dracut

# called by dracut
check() {
    # Never picked by host-only detection: /etc/dracut.conf.d asks for it.
    return 255
}

# called by dracut
depends() {
    echo dracut-systemd rootfs-block fs-lib
    return 0
}

# called by dracut
installkernel() {
    hostonly='' instmods loop overlay squashfs ext4
}

# called by dracut
install() {
    inst_multiple mount umount mkdir sed sleep cat ln
    inst_multiple -o udevadm systemd-escape fsck

    inst_simple "$moddir/etk-lib.sh" /usr/lib/etk/etk-lib.sh
    inst_script "$moddir/etk-generator.sh" "$systemdutildir/system-generators/etk-generator"
    inst_script "$moddir/etk-layout.sh" /usr/bin/etk-layout
    inst_simple "$moddir/etk-layout.service" "$systemdsystemunitdir/etk-layout.service"

    # The layout settings of the system the initrd is made for; the booted
    # image's own /etc/etk/layout.conf is read again at boot and wins.
    if [[ -f "${dracutsysrootdir-}/etc/etk/layout.conf" ]]; then
        inst_simple /etc/etk/layout.conf /etc/etk/layout.conf
    else
        inst_simple "$moddir/layout.conf" /etc/etk/layout.conf
    fi
}
