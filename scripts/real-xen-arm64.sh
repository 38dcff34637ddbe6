#!/usr/bin/env bash
# Boots the real Xen 4.17 hypervisor for arm64 (Debian's xen-hypervisor-4.17-arm64) under QEMU
# (TCG, `virt` machine with virtualization and GICv3) with the freestanding kernel of
# guest/aarch64 twice: as dom0, and as an unprivileged dom0less domU that Xen starts beside it.
# Dom0 runs its suite, then hands over to the domU (guest/aarch64/src/toolstack.rs), which runs
# the domU suite; dom0 waits for it and resets the machine.
#
# Outputs (under out/, gitignored):
#   out/real-xen-arm64.log          the whole serial console (Xen's messages and both kernels')
#   out/real-xen-arm64.lines        dom0's suite lines only, exactly as the suite wrote them
#   out/real-xen-arm64-domu.lines   the domU's suite lines only, exactly as the suite wrote them
#   out/real-xen-arm64.dts          the device tree given to Xen (QEMU's, plus the two domains)
#
# Exit status: 0 when dom0 reached `conformance-done`, the domU `conformance-done`, and dom0
# then `domu-done`; non-zero otherwise (the tail of the log is printed then). Needs root (for
# apt-get and dpkg --add-architecture); safe to re-run.
#
# Environment: BOOT_TIMEOUT (seconds, default 120), QEMU (default qemu-system-aarch64).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/out"
pkgs="$out/xen-arm64-pkgs"
log="$out/real-xen-arm64.log"
lines="$out/real-xen-arm64.lines"
domu_lines="$out/real-xen-arm64-domu.lines"
dts="$out/real-xen-arm64.dts"
timeout_s=${BOOT_TIMEOUT:-120}
qemu=${QEMU:-qemu-system-aarch64}
mkdir -p "$pkgs"

# Where QEMU's loader puts the two copies of the image in the machine's RAM (0x40000000, 1 GiB),
# clear of Xen (loaded at 0x40200000, which relocates itself to the top of RAM) and of the
# device tree QEMU places at the start of RAM.
dom0_addr=0x49000000
domu_addr=0x4a000000
machine=virt,virtualization=on,gic-version=3
xen_cmdline="console=dtuart dtuart=/pl011@9000000 dom0_mem=128M loglvl=all guest_loglvl=all"

# --- tools ---------------------------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
need=()
command -v "$qemu" >/dev/null || need+=(qemu-system-arm)
command -v dtc >/dev/null || need+=(device-tree-compiler)
if ((${#need[@]})); then
    # Only refresh the package lists when an install fails without it.
    if ! apt-get install -y -qq --no-install-recommends "${need[@]}"; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
fi
# rustc-web, its library source, lld and the aarch64 binutils (objcopy).
bash "$repo/scripts/arm64-toolchain.sh" install
command -v cargo >/dev/null || { echo "cargo not found: install a stable Rust toolchain" >&2; exit 2; }

# --- the hypervisor --------------------------------------------------------------------------
# Downloaded, never installed: dpkg-deb -x unpacks the files without running the package's
# hooks. The package is arm64's, so apt must know that architecture.
xen="$pkgs/xen-4.17-arm64"
if [[ ! -s $xen ]]; then
    deb=$(ls "$pkgs"/xen-hypervisor-4.17-arm64_*_arm64.deb 2>/dev/null | head -n1 || true)
    if [[ -z $deb ]]; then
        updated=0
        if ! dpkg --print-foreign-architectures | grep -qx arm64; then
            dpkg --add-architecture arm64
            apt-get update -qq
            updated=1
        fi
        # As root apt hands downloads to its unprivileged _apt user, which cannot write here.
        get() { (cd "$pkgs" && apt-get -o APT::Sandbox::User=root download xen-hypervisor-4.17-arm64:arm64); }
        if ! get; then
            ((updated)) || apt-get update -qq
            get
        fi
        deb=$(ls "$pkgs"/xen-hypervisor-4.17-arm64_*_arm64.deb | head -n1)
    fi
    rm -rf "$pkgs/root"
    dpkg-deb -x "$deb" "$pkgs/root"
    # boot/xen-4.17-arm64 is an arm64 Image, which QEMU's -kernel boots as it is.
    cp "$pkgs/root/boot/xen-4.17-arm64" "$xen.tmp"
    mv "$xen.tmp" "$xen"
fi

# --- the kernel ------------------------------------------------------------------------------
# Its own workspace, target dir and flags (guest/aarch64/.cargo/config.toml); a caller's
# RUSTFLAGS would replace those flags, so none are passed on.
export CARGO_TARGET_DIR="$repo/guest/aarch64/target"
(cd "$repo/guest/aarch64" &&
    env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
        cargo build --release --quiet)
elf="$CARGO_TARGET_DIR/aarch64-unknown-none-softfloat/release/xenmem-guest-aarch64"
image="$out/xenmem-guest-aarch64.img"
aarch64-linux-gnu-objcopy -O binary "$elf" "$image"
[[ $(head -c 60 "$image" | tail -c 4) == "ARMd" ]] || { echo "$image: no arm64 Image magic" >&2; exit 1; }
size=$(stat -c %s "$image")

# --- the device tree -------------------------------------------------------------------------
# QEMU's own tree for this machine, plus (under /chosen) dom0's kernel as a boot module and the
# domU as a dom0less domain (docs/misc/arm/device-tree/booting.txt): 128 MiB, 1 vCPU, an
# emulated PL011, its kernel a module of its own. The random seeds QEMU puts in /chosen are
# dropped so that the same inputs give the same tree.
"$qemu" -machine "$machine,dumpdtb=$out/virt.dtb" -cpu cortex-a57 -m 1G -nographic >/dev/null 2>&1
dtc -q -I dtb -O dts "$out/virt.dtb" |
    awk -v d0="$dom0_addr" -v du="$domu_addr" -v size="$(printf '%#x' "$size")" '
        /^\tchosen \{/ { chosen = 1 }
        chosen && /^\t\t(rng-seed|kaslr-seed) =/ { next }
        chosen && /^\t\};/ {
            print "\t\t#address-cells = <0x02>;"
            print "\t\t#size-cells = <0x02>;"
            print ""
            print "\t\tmodule@" substr(d0, 3) " {"
            print "\t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";"
            print "\t\t\treg = <0x00 " d0 " 0x00 " size ">;"
            print "\t\t\tbootargs = \"role=dom0\";"
            print "\t\t};"
            print ""
            print "\t\tdomU1 {"
            print "\t\t\tcompatible = \"xen,domain\";"
            print "\t\t\t#address-cells = <0x02>;"
            print "\t\t\t#size-cells = <0x01>;"
            print "\t\t\tmemory = <0x00 0x20000>;"
            print "\t\t\tcpus = <0x01>;"
            print "\t\t\tvpl011;"
            print ""
            print "\t\t\tmodule@" substr(du, 3) " {"
            print "\t\t\t\tcompatible = \"multiboot,kernel\", \"multiboot,module\";"
            print "\t\t\t\treg = <0x00 " du " " size ">;"
            print "\t\t\t\tbootargs = \"role=domu\";"
            print "\t\t\t};"
            print "\t\t};"
            chosen = 0
        }
        { print }' >"$dts"
grep -q 'domU1 {' "$dts" || { echo "$dts: could not add the domains under /chosen" >&2; exit 1; }
dtc -q -I dts -O dtb -o "$out/real-xen-arm64.dtb" "$dts"

# --- boot --------------------------------------------------------------------------------------
# Dom0 ends with SCHEDOP_shutdown(reboot), which -no-reboot turns into QEMU exiting.
start=$EPOCHREALTIME
set +e
timeout "$timeout_s" "$qemu" -machine "$machine" -cpu cortex-a57 -m 1G \
    -nographic -no-reboot -monitor none -serial stdio \
    -kernel "$xen" -dtb "$out/real-xen-arm64.dtb" -append "$xen_cmdline" \
    -device loader,file="$image",addr=$dom0_addr,force-raw=on \
    -device loader,file="$image",addr=$domu_addr,force-raw=on \
    </dev/null >"$log" 2>&1
rc=$?
set -e
end=$EPOCHREALTIME
awk -v s="$start" -v e="$end" -v rc="$rc" 'BEGIN { printf "boot to exit: %.2f s (qemu exit status %d)\n", e - s, rc }'

# --- the suite's lines ----------------------------------------------------------------------
# Serial lines end in CR LF. Xen prints the hardware domain's console_io bytes as they are, and
# a domU's line by line after "(d1) ". The kernels tag their suite lines "xenmem: " (dom0) and
# "xenmem-domu: " (domU).
tr -d '\r' <"$log" | sed -nE 's/^(\((XEN|d0)\) )?xenmem: //p' >"$lines"
tr -d '\r' <"$log" | sed -nE 's/^\(d[0-9]+\) xenmem-domu: //p' >"$domu_lines"
echo "dom0 suite lines: $(wc -l <"$lines") -> $lines"
echo "domU suite lines: $(wc -l <"$domu_lines") -> $domu_lines"

status=0
for marker in "xenmem-guest: conformance-done" "xenmem-domu-guest: conformance-done" "xenmem-guest: domu-done"; do
    grep -q "$marker" "$log" || { echo "FAILED: no \"$marker\" in $log" >&2; status=1; }
done
if ((status)); then
    echo "last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
fi
tr -d '\r' <"$log" | sed -nE 's/^(\(d[0-9]+\) )?(xenmem(-domu)?-guest: (conformance-done|domu|total).*)/\2/p'
