#!/bin/sh
# Tests of the etk-immutable-rootfs dracut module that need no VM and no root:
# the generator writes units into a scratch directory, etk-layout runs in its
# dry-run mode against fake devices. Usage: sh tests/run.sh
set -u

here="$(cd "$(dirname "$0")" && pwd)"
mod="$here/../30etk-immutable-rootfs"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0

ok() {
    pass=$((pass + 1))
}

bad() {
    fail=$((fail + 1))
    echo "FAIL: $*" >&2
}

# expect_line FILE LINE: FILE has LINE as one of its lines.
expect_line() {
    if grep -qxF -- "$2" "$1" 2>/dev/null; then ok; else bad "$1: missing line: $2"; fi
}

no_line() {
    if grep -qxF -- "$2" "$1" 2>/dev/null; then bad "$1: unexpected line: $2"; else ok; fi
}

# gen CMDLINE: run the generator, output in $tmp/gen/early.
gen() {
    rm -rf "$tmp/gen"
    mkdir -p "$tmp/gen/normal" "$tmp/gen/early" "$tmp/gen/late"
    ETK_CMDLINE="$1" sh -c ". '$mod/etk-lib.sh'; . '$mod/etk-generator.sh'" \
        gen "$tmp/gen/normal" "$tmp/gen/early" "$tmp/gen/late" 2> "$tmp/gen.err"
}

# layout CMDLINE: run etk-layout dry, output in $tmp/layout.out.
layout() {
    ETK_CMDLINE="$1" ETK_DRY_RUN=1 ETK_INITRD_CONF="$tmp/none.conf" ETK_DEVDIR="$tmp/dev" ETK_SYSROOT="$tmp/sysroot" \
        sh -c ". '$mod/etk-lib.sh'; . '$mod/etk-layout.sh'" > "$tmp/layout.out" 2> "$tmp/layout.err"
}

for f in "$mod/etk-lib.sh" "$mod/etk-generator.sh" "$mod/etk-layout.sh"; do
    if sh -n "$f"; then ok; else bad "sh -n $f"; fi
done
if bash -n "$mod/module-setup.sh"; then ok; else bad "bash -n module-setup.sh"; fi

# --- etk_getarg / etk_getbool ---
(
    # shellcheck source=SCRIPTDIR/../30etk-immutable-rootfs/etk-lib.sh
    . "$mod/etk-lib.sh"
    set -f
    export ETK_CMDLINE="root=LABEL=A rootflags=x etk.image=/cOS/a.img root=LABEL=B rd.etk.debugrw=0 rd.etk.x *"
    [ "$(etk_getarg root)" = "LABEL=B" ] || exit 1
    [ "$(etk_getarg etk.image)" = "/cOS/a.img" ] || exit 2
    etk_getarg missing >/dev/null && exit 3
    etk_getbool rd.etk.debugrw && exit 4
    etk_getbool rd.etk.x || exit 5
    etk_getbool rd.etk || :
    [ "$(etk_dev_path LABEL=COS_STATE)" = "/dev/disk/by-label/COS_STATE" ] || exit 6
    [ "$(etk_dev_path 'LABEL=a/b c')" = '/dev/disk/by-label/a\x2fb\x20c' ] || exit 7
    [ "$(etk_dev_path UUID=1234)" = "/dev/disk/by-uuid/1234" ] || exit 8
    etk_dev_path live:LABEL=X >/dev/null && exit 9
    [ "$(etk_unit_name /run/etk/state)" = "run-etk-state" ] || exit 10
    [ "$(etk_unit_name /dev/disk/by-label/COS_STATE)" = 'dev-disk-by\x2dlabel-COS_STATE' ] || exit 11
    exit 0
)
rc=$?
if [ "$rc" -eq 0 ]; then ok; else bad "lib check $rc"; fi

# --- generator: image boot ---
gen "BOOT_IMAGE=(loop0)/boot/vmlinuz console=tty1 root=LABEL=COS_STATE etk.image=/cOS/active.img ro panic=5"
e="$tmp/gen/early"
expect_line "$e/sysroot.mount" "What=/run/etk/state/cOS/active.img"
expect_line "$e/sysroot.mount" "Where=/sysroot"
expect_line "$e/sysroot.mount" "Options=ro,loop"
expect_line "$e/sysroot.mount" "RequiresMountsFor=/run/etk/state"
expect_line "$e/sysroot.mount" "Wants=modprobe@loop.service modprobe@squashfs.service"
expect_line "$e/run-etk-state.mount" "What=/dev/disk/by-label/COS_STATE"
expect_line "$e/run-etk-state.mount" "Where=/run/etk/state"
expect_line "$e/run-etk-state.mount" "Options=ro"
expect_line "$e/run-etk-state.mount" 'Requires=systemd-fsck@dev-disk-by\x2dlabel-COS_STATE.service'
if [ -L "$e/initrd-root-fs.target.requires/sysroot.mount" ]; then ok; else bad "sysroot.mount not required"; fi
if [ "$(readlink "$e/initrd-fs.target.requires/etk-layout.service")" = /usr/lib/systemd/system/etk-layout.service ]; then ok; else bad "etk-layout.service not required"; fi
if [ -z "$(ls -A "$tmp/gen/normal")" ]; then ok; else bad "generator wrote to the normal directory"; fi

# relative image path, debug rw, recovery partition by UUID
gen "root=UUID=0a1b etk.image=cOS/recovery.squashfs rd.etk.debugrw"
expect_line "$e/sysroot.mount" "What=/run/etk/state/cOS/recovery.squashfs"
expect_line "$e/sysroot.mount" "Options=rw,loop"
expect_line "$e/run-etk-state.mount" "What=/dev/disk/by-uuid/0a1b"

# --- generator: nothing to do ---
gen "root=LABEL=COS_STATE ro"
if [ -z "$(ls -A "$e")" ]; then ok; else bad "generator acted without etk.image"; fi
gen "root=LABEL=COS_STATE etk.image=/cOS/active.img rd.etk.disable"
if [ -z "$(ls -A "$e")" ]; then ok; else bad "generator acted with rd.etk.disable"; fi
gen "root=live:CDLABEL=X etk.image=/cOS/active.img"
if [ ! -e "$e/sysroot.mount" ]; then ok; else bad "generator took root=live:"; fi

# --- generator: plain partition ---
gen "root=LABEL=ROOT ro rd.etk.immutable"
if [ ! -e "$e/sysroot.mount" ] && [ -L "$e/initrd-fs.target.requires/etk-layout.service" ]; then ok; else bad "plain partition"; fi

# --- layout: active boot with persistent and OEM partitions ---
mkdir -p "$tmp/dev/disk/by-label" "$tmp/sysroot/etc"
: > "$tmp/dev/disk/by-label/COS_PERSISTENT"
: > "$tmp/dev/disk/by-label/COS_OEM"
layout "root=LABEL=COS_STATE etk.image=/cOS/active.img"
o="$tmp/layout.out"
p="$tmp/dev/disk/by-label/COS_PERSISTENT"
s="$tmp/sysroot"
expect_line "$o" "mount -o rw $p /run/etk/persistent"
expect_line "$o" "mount -t tmpfs -o mode=0755,size=25% etk-overlay /run/etk/overlay"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/etc,upperdir=/run/etk/overlay/etc/upper,workdir=/run/etk/overlay/etc/work $s/etc"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/var,upperdir=/run/etk/overlay/var/upper,workdir=/run/etk/overlay/var/work $s/var"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/usr/local,upperdir=/run/etk/persistent/.etk-state/usr-local/upper,workdir=/run/etk/persistent/.etk-state/usr-local/work $s/usr/local"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/etc/ssh,upperdir=/run/etk/persistent/.etk-state/etc-ssh/upper,workdir=/run/etk/persistent/.etk-state/etc-ssh/work $s/etc/ssh"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/var/lib,upperdir=/run/etk/persistent/.etk-state/var-lib/upper,workdir=/run/etk/persistent/.etk-state/var-lib/work $s/var/lib"
expect_line "$o" "mount --bind /run/etk/persistent/.etk-state/machine-id $s/etc/machine-id"
expect_line "$o" "mount -o rw $tmp/dev/disk/by-label/COS_OEM $s/oem"
expect_line "$o" "ETK_MODE=active"
expect_line "$o" "ETK_PERSISTENT_MOUNT=/run/etk/persistent"
expect_line "$o" "ETK_OEM_MOUNT=/oem"
expect_line "$o" "ETK_STATE_MOUNT=/run/etk/state"
# every overlay after its parent's, the OEM partition after all overlays
order="$(grep -n 'mount ' "$o" | sed -e 's/:.* \([^ ]*\)$/ \1/')"
line_of() { printf '%s\n' "$order" | while read -r n t; do [ "$t" = "$1" ] && echo "$n"; done; }
if [ "$(line_of "$s/etc")" -lt "$(line_of "$s/etc/ssh")" ] &&
    [ "$(line_of "$s/etc")" -lt "$(line_of "$s/etc/systemd")" ] &&
    [ "$(line_of "$s/var")" -lt "$(line_of "$s/var/lib")" ] &&
    [ "$(line_of "$s/var/lib")" -lt "$(line_of "$s/oem")" ]; then ok; else bad "mount order: $order"; fi
if [ "$(grep -c 'mount -t overlay' "$o")" -eq 11 ]; then ok; else bad "expected 11 overlays: $(grep -c 'mount -t overlay' "$o")"; fi

# --- layout: recovery skips the persistent partition ---
layout "root=LABEL=COS_RECOVERY etk.image=/cOS/recovery.squashfs"
expect_line "$o" "ETK_MODE=recovery"
expect_line "$o" "ETK_PERSISTENT_MOUNT="
no_line "$o" "mount -o rw $p /run/etk/persistent"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/home,upperdir=/run/etk/overlay/home/upper,workdir=/run/etk/overlay/home/work $s/home"

# --- layout: command line overrides, missing persistent partition ---
rm -f "$p"
layout "root=LABEL=COS_STATE etk.image=/cOS/passive.img rd.etk.rw_paths=/etc,/var/lib/foo-bar rd.etk.persistent_paths=/srv rd.etk.overlay=tmpfs:1G rd.etk.oem=none"
expect_line "$o" "ETK_MODE=passive"
expect_line "$o" "mount -t tmpfs -o mode=0755,size=1G etk-overlay /run/etk/overlay"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/var/lib/foo-bar,upperdir=/run/etk/overlay/var-lib-foo--bar/upper,workdir=/run/etk/overlay/var-lib-foo--bar/work $s/var/lib/foo-bar"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/srv,upperdir=/run/etk/overlay/srv/upper,workdir=/run/etk/overlay/srv/work $s/srv"
if [ "$(grep -c 'mount -t overlay' "$o")" -eq 3 ]; then ok; else bad "expected 3 overlays"; fi
no_line "$o" "ETK_OEM_MOUNT=/oem"
if grep -q "COS_PERSISTENT not found" "$tmp/layout.err"; then ok; else bad "missing persistent partition not reported"; fi

# --- layout: settings file of the image, unknown keys, bad paths ---
mkdir -p "$s/etc/etk"
cat > "$s/etc/etk/layout.conf" <<'EOF'
# comment
RW_PATHS='/etc relative /bad,path /var//log/'
PERSISTENT_DEVICE=none
PERSISTENT_PATHS=""
OEM_DEVICE="none"
BOGUS=1
EOF
layout "root=LABEL=COS_STATE etk.image=/cOS/active.img"
expect_line "$o" "mount -t overlay etk-overlay -o lowerdir=$s/var/log,upperdir=/run/etk/overlay/var-log/upper,workdir=/run/etk/overlay/var-log/work $s/var/log"
if [ "$(grep -c 'mount -t overlay' "$o")" -eq 2 ]; then ok; else bad "expected 2 overlays from layout.conf"; fi
if grep -q "unknown key BOGUS" "$tmp/layout.err" && grep -q "unusable path 'relative'" "$tmp/layout.err"; then ok; else bad "layout.conf diagnostics"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
