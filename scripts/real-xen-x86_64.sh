#!/usr/bin/env bash
# Boots the real Xen 4.17 hypervisor (Debian's xen-hypervisor-4.17-amd64) under QEMU (TCG) with
# the freestanding guest kernel of guest/x86_64 as a PVH dom0, and collects the conformance
# suite's lines: first dom0's, then those of an unprivileged PVH domU that dom0 builds from the
# same kernel image (passed again as dom0's first module) and whose log dom0 prints.
#
# Outputs (under out/, gitignored):
#   out/real-xen-x86_64.log         the whole serial console (Xen's messages and the kernel's)
#   out/real-xen-x86_64.lines       dom0's suite lines only, exactly as the suite wrote them
#   out/real-xen-x86_64-domu.lines  the domU's suite lines only, exactly as the suite wrote them
#
# Exit status: 0 when dom0 reached `conformance-done` and then `domu-done`, non-zero otherwise
# (the tail of the log is printed then). Needs root for apt-get, and nothing else; safe to re-run.
#
# Environment: BOOT_TIMEOUT (seconds, default 120), QEMU (default qemu-system-x86_64).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/out"
pkgs="$out/xen-pkgs"
log="$out/real-xen-x86_64.log"
lines="$out/real-xen-x86_64.lines"
domu_lines="$out/real-xen-x86_64-domu.lines"
timeout_s=${BOOT_TIMEOUT:-120}
qemu=${QEMU:-qemu-system-x86_64}
mkdir -p "$pkgs"

# --- tools ---------------------------------------------------------------------------------
need=()
command -v "$qemu" >/dev/null || need+=(qemu-system-x86)
command -v cc >/dev/null || need+=(gcc libc6-dev)
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    # Only refresh the package lists when they are missing or an install fails without it.
    if ! apt-get install -y --no-install-recommends "${need[@]}"; then
        apt-get update
        apt-get install -y --no-install-recommends "${need[@]}"
    fi
fi
command -v cargo >/dev/null || { echo "cargo not found: install a stable Rust toolchain" >&2; exit 2; }

# --- the hypervisor --------------------------------------------------------------------------
# Downloaded, never installed: dpkg-deb -x unpacks the files without running the package's
# hooks (which would try to set up a bootloader).
xen="$pkgs/xen"
if [[ ! -s $xen ]]; then
    deb=$(ls "$pkgs"/xen-hypervisor-4.17-amd64_*.deb 2>/dev/null | head -n1 || true)
    if [[ -z $deb ]]; then
        # As root apt would hand the download to its unprivileged _apt user, which cannot
        # write into this directory; download as root instead.
        get() { (cd "$pkgs" && apt-get -o APT::Sandbox::User=root download xen-hypervisor-4.17-amd64); }
        if ! get; then
            apt-get update
            get
        fi
        deb=$(ls "$pkgs"/xen-hypervisor-4.17-amd64_*.deb | head -n1)
    fi
    rm -rf "$pkgs/root"
    dpkg-deb -x "$deb" "$pkgs/root"
    gz=$(ls "$pkgs"/root/boot/xen-4.17-amd64.gz)
    # QEMU's -kernel loads the multiboot ELF, not the gzip.
    gunzip -c "$gz" >"$xen.tmp"
    mv "$xen.tmp" "$xen"
fi

# --- the kernel ------------------------------------------------------------------------------
# The kernel's own workspace and target dir (a caller's CARGO_TARGET_DIR would move the ELF).
export CARGO_TARGET_DIR="$repo/guest/x86_64/target"
(cd "$repo/guest/x86_64" && cargo build --release --quiet)
kernel="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/xenmem-guest-x86_64"
# QEMU's multiboot module list is comma-separated ("file args,file args").
[[ $kernel != *,* ]] || { echo "the kernel's path must not contain a comma: $kernel" >&2; exit 2; }

# --- boot --------------------------------------------------------------------------------------
# q35 + amd-iommu + -cpu max: a PVH dom0 needs HAP and an IOMMU. The kernel ends with
# SCHEDOP_shutdown(reboot), which -no-reboot turns into QEMU exiting. Modules: the kernel as
# dom0 (its command line after the file name), then the same file again, which Xen hands to
# dom0 as its first module: the image dom0 builds the domU from.
start=$EPOCHREALTIME
set +e
timeout "$timeout_s" "$qemu" -nographic -no-reboot -machine q35 -cpu max -device amd-iommu \
    -m 512 -monitor none -serial stdio -display none \
    -kernel "$xen" -initrd "$kernel role=dom0,$kernel" \
    -append "console=com1 dom0=pvh dom0_mem=64M loglvl=all guest_loglvl=all" \
    </dev/null >"$log" 2>&1
rc=$?
set -e
end=$EPOCHREALTIME
awk -v s="$start" -v e="$end" -v rc="$rc" 'BEGIN { printf "boot to exit: %.2f s (qemu exit status %d)\n", e - s, rc }' 

# --- the suite's lines ----------------------------------------------------------------------
# Serial lines end in CR LF. Xen prints the hardware domain's console_io bytes as they are,
# so suite lines start with the kernel's tag "xenmem: "; the optional "(XEN) "/"(d0) " prefix
# is accepted too in case a Xen build adds one. Dom0 prints the domU's suite lines (from the
# domU's log) with the tag "xenmem-domu: ".
tr -d '\r' <"$log" | sed -nE 's/^(\((XEN|d0)\) )?xenmem: //p' >"$lines"
tr -d '\r' <"$log" | sed -nE 's/^(\((XEN|d0)\) )?xenmem-domu: //p' >"$domu_lines"
echo "dom0 suite lines: $(wc -l <"$lines") -> $lines"
echo "domU suite lines: $(wc -l <"$domu_lines") -> $domu_lines"

for marker in conformance-done domu-done; do
    if ! grep -q "xenmem-guest: $marker" "$log"; then
        echo "FAILED: the kernel did not reach $marker; last lines of $log:" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
done
tr -d '\r' <"$log" | sed -nE 's/^.*(xenmem-guest: (conformance|domu)-done)/\1/p'
