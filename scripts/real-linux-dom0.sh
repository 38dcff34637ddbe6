#!/usr/bin/env bash
# Boots Debian's Xen 4.17 with Debian's Linux kernel as an x86 PV dom0 under QEMU (TCG), runs
# the privcmd backend's probe (crates/xenmem-privcmd/examples/dom0-probe.rs) inside it, and
# checks the probe's answers against what Xen itself says. Two boots:
#   1. dom0_mem=256M,max:256M  dom0 has a page limit: the values are small;
#   2. dom0_mem=256M           no limit: max_pages is 0xFFFFFFFF, past what privcmd's `int`
#                              ioctl result can carry. Reading it correctly proves the
#                              one-entry multicall path.
#
# Outputs (under out/, gitignored):
#   out/real-linux-dom0.log          boot 1's serial console (Xen's and Linux's messages)
#   out/real-linux-dom0-nomax.log    boot 2's
#   out/linux-dom0/                  downloaded packages, the extracted kernel, the initramfs
#
# Exit status: 0 when every check passed; 1 on a mismatch (each is printed); 2 for a missing
# tool. Run as root on Debian 12 (apt-get installs what is missing); safe to re-run: downloads
# and extractions are cached under out/linux-dom0.
#
# Environment: BOOT_TIMEOUT (seconds per boot, default 180), QEMU (default qemu-system-x86_64).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/out"
work="$out/linux-dom0"
timeout_s=${BOOT_TIMEOUT:-180}
qemu=${QEMU:-qemu-system-x86_64}
mkdir -p "$work"
export DEBIAN_FRONTEND=noninteractive

# --- tools -------------------------------------------------------------------------------------
lists_fresh=0
apt_update_once() {
    if ((!lists_fresh)); then
        apt-get update
        lists_fresh=1
    fi
}
need=()
command -v "$qemu" >/dev/null || need+=(qemu-system-x86)
[[ -x /bin/busybox ]] || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
if ((${#need[@]})); then
    # Refresh the package lists only when an install fails without it.
    if ! apt-get install -y --no-install-recommends "${need[@]}"; then
        apt_update_once
        apt-get install -y --no-install-recommends "${need[@]}"
    fi
fi
command -v cargo >/dev/null || { echo "cargo not found: install a stable Rust toolchain" >&2; exit 2; }

# Downloads package $1 into $work unless a .deb of it is there already; prints the file.
download() {
    local pkg=$1 deb
    deb=$(ls "$work/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
    if [[ -z $deb ]]; then
        # As root apt hands downloads to its unprivileged _apt user, which cannot write here.
        get() { (cd "$work" && apt-get -q -o APT::Sandbox::User=root download "$pkg") >&2; }
        if ! get; then
            apt_update_once >&2
            get
        fi
        deb=$(ls "$work/${pkg}"_*.deb | head -n1)
    fi
    echo "$deb"
}

# --- the hypervisor ----------------------------------------------------------------------------
xen="$work/xen"
if [[ ! -s $xen ]]; then
    deb=$(download xen-hypervisor-4.17-amd64)
    rm -rf "$work/xen-root"
    dpkg-deb -x "$deb" "$work/xen-root"
    # QEMU's -kernel loads the multiboot ELF, not the gzip.
    gunzip -c "$work"/xen-root/boot/xen-4.17-amd64.gz >"$xen.tmp"
    mv "$xen.tmp" "$xen"
fi

# --- the dom0 kernel ---------------------------------------------------------------------------
vmlinux="$work/vmlinux"
privcmd_ko="$work/xen-privcmd.ko"
if [[ ! -s $vmlinux || ! -s $privcmd_ko ]]; then
    # linux-image-amd64 is a metapackage: the kernel is the linux-image-6.1.*-amd64 it
    # depends on, whose name changes with every ABI bump.
    resolve() { apt-cache depends linux-image-amd64 2>/dev/null | sed -nE 's/^ *Depends: (linux-image-6\.1\.[^ ]*-amd64)$/\1/p' | head -n1; }
    kpkg=$(resolve)
    if [[ -z $kpkg ]]; then
        apt_update_once
        kpkg=$(resolve)
    fi
    [[ -n $kpkg ]] || { echo "cannot resolve linux-image-amd64's kernel package" >&2; exit 2; }
    echo "kernel package: $kpkg"
    download linux-image-amd64 >/dev/null
    kdeb=$(download "$kpkg")
    # dpkg-deb -x of the whole package would unpack ~400 MB of modules; the boot needs the
    # kernel image and one module, so only those leave the archive.
    rm -rf "$work/kernel-root"
    mkdir -p "$work/kernel-root"
    dpkg-deb --fsys-tarfile "$kdeb" |
        tar -x -C "$work/kernel-root" --wildcards './boot/vmlinuz-*' '*/kernel/drivers/xen/xen-privcmd.ko'
    vmlinuz=$(ls "$work"/kernel-root/boot/vmlinuz-* | head -n1)
    # Xen decompresses a bzImage itself, slowly under TCG (~5 s); hand it the ELF instead.
    # The payload is an xz stream starting at xz's magic FD 37 7A 58 5A 00.
    # (-m1: grep stops early instead of dying of SIGPIPE under pipefail.)
    offset=$(LC_ALL=C grep -m1 -obUaP '\xFD\x37\x7A\x58\x5A\x00' "$vmlinuz" | head -n1 | cut -d: -f1 || true)
    [[ -n $offset ]] || { echo "no xz stream in $vmlinuz" >&2; exit 2; }
    # Trailing bytes after the stream are the bzImage's; --single-stream stops before them,
    # so tail may die of SIGPIPE: only xz's status counts.
    tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc --single-stream >"$vmlinux.tmp" || ((PIPESTATUS[1] == 0))
    [[ $(head -c 4 "$vmlinux.tmp" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] ||
        { echo "what $vmlinuz holds at $offset is not an ELF kernel" >&2; exit 2; }
    mv "$vmlinux.tmp" "$vmlinux"
    cp "$(find "$work/kernel-root" -name xen-privcmd.ko | head -n1)" "$privcmd_ko"
fi

# --- the probe (static, so the initramfs needs no libc) ------------------------------------------
# Its own target dir: the static RUSTFLAGS would otherwise invalidate the workspace's builds;
# --target keeps them off the proc-macros, which must stay dynamic host libraries.
export CARGO_TARGET_DIR="$work/target"
(cd "$repo" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
    -p xenmem-privcmd --example dom0-probe --target x86_64-unknown-linux-gnu)
probe="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/examples/dom0-probe"

# --- the initramfs -------------------------------------------------------------------------------
root="$work/initramfs"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
cp "$privcmd_ko" "$root/lib/modules/xen-privcmd.ko"
strip -o "$root/bin/dom0-probe" "$probe" 2>/dev/null || cp "$probe" "$root/bin/dom0-probe"
install -m 755 "$repo/guest/linux-initramfs/init" "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initrd.gz"

# --- boot ------------------------------------------------------------------------------------------
# boot LOG DOM0_MEM: one run of Xen + Linux to the probe's end; QEMU exits when /init reboots
# (Xen resets the machine and -no-reboot makes that an exit).
boot() {
    local log=$1 mem=$2 start end rc
    start=$EPOCHREALTIME
    set +e
    # The scratch domain is PVH, which needs HAP: QEMU's default CPU has no SVM/NPT ("HAP not
    # detected", and createdomain says EINVAL), and svm alone is not enough without npt. The
    # PV dom0 itself needs neither. Not -cpu max or EPYC: with them this Linux crashes as a PV
    # dom0 in its first instructions (an unhandled #PF on its own stack), likely SMAP-related.
    timeout "$timeout_s" "$qemu" -nographic -no-reboot -monitor none -serial stdio -display none \
        -cpu qemu64,+svm,+npt -m 512 -kernel "$xen" \
        -append "console=com1 loglvl=all guest_loglvl=all dom0_mem=$mem" \
        -initrd "$vmlinux console=hvc0 earlyprintk=xen rdinit=/init quiet,$work/initrd.gz" \
        </dev/null >"$log" 2>&1
    rc=$?
    set -e
    end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" -v rc="$rc" -v m="$mem" \
        'BEGIN { printf "boot (dom0_mem=%s) to exit: %.2f s wall (qemu exit status %d)\n", m, e - s, rc }'
    # Serial lines end in CR LF; the checks want plain lines.
    tr -d '\r' <"$log" >"$log.txt"
    mv "$log.txt" "$log"
}

log1="$out/real-linux-dom0.log"
log2="$out/real-linux-dom0-nomax.log"
boot "$log1" "256M,max:256M"
boot "$log2" "256M"

# --- checks --------------------------------------------------------------------------------------
fails=0
checks=0
pass() { checks=$((checks + 1)); echo "ok: $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "MISMATCH: $*"; }
# value LOG CALL: the value the probe printed for CALL ("" when it printed an error or nothing).
value() { sed -nE "s/^probe $(sed 's/[][().]/\\&/g' <<<"$2") = (.*)$/\1/p" "$1" | head -n1; }
# errname LOG CALL: the errno name the probe printed for CALL.
errname() { sed -nE "s/^probe $(sed 's/[][().]/\\&/g' <<<"$2") -> ([A-Z0-9]+).*$/\1/p" "$1" | head -n1; }
expect_value() { # LOG CALL WANT
    local got
    got=$(value "$1" "$2")
    if [[ $got == "$3" ]]; then pass "$2 = $got"; else fail "$2: want $3, got '${got:-$(errname "$1" "$2")}'"; fi
}
expect_err() { # LOG CALL ERRNO
    local got
    got=$(errname "$1" "$2")
    if [[ $got == "$3" ]]; then pass "$2 -> $got"; else fail "$2: want $3, got '${got:-$(value "$1" "$2")}'"; fi
}

check_boot() { # LOG
    local log=$1 xen_pages s e n rs re
    echo "--- $(basename "$log")"
    grep -q '^probe done$' "$log" || { fail "the probe did not finish (see $log)"; tail -n 30 "$log"; return; }
    # What Xen gave dom0, from Xen's own log. The PV dom0 builder (xen/arch/x86/pv/
    # dom0_build.c) prints "Dom0 alloc.: START->END (N pages to be allocated)" and, below it,
    # "Init. ramdisk: RSTART->REND". By then dom0 owns the contiguous chunk [START, END) and
    # the initrd's pages, which Xen hands over in place (PFN_UP of its length) rather than
    # copying; N is what is still missing of dom0's total, so the total is
    # (END - START) / 4096 + ceil((REND - RSTART) / 4096) + N. Seen: 32768 + 392 + 32376 =
    # 65536, which is also dom0_mem=256M in pages: Linux released none ("Released 0 page(s)").
    local alloc initrd
    alloc=$(sed -nE 's/^\(XEN\) +Dom0 alloc\.: +([0-9a-f]+)->([0-9a-f]+)( \(([0-9]+) pages to be allocated\))?$/\1 \2 \4/p' "$log" | head -n1)
    initrd=$(sed -nE 's/^\(XEN\) +Init\. ramdisk: +([0-9a-f]+)->([0-9a-f]+)$/\1 \2/p' "$log" | head -n1)
    if [[ -z $alloc || -z $initrd ]]; then
        fail "Xen's log lacks the 'Dom0 alloc.' or 'Init. ramdisk' line to compare with"
    else
        read -r s e n <<<"$alloc"
        read -r rs re <<<"$initrd"
        xen_pages=$(((0x$e - 0x$s) / 4096 + (0x$re - 0x$rs + 4095) / 4096 + ${n:-0}))
        echo "Xen's log: chunk $(((0x$e - 0x$s) / 4096)) + initrd $(((0x$re - 0x$rs + 4095) / 4096)) + ${n:-0} more = $xen_pages pages for dom0"
        expect_value "$log" "current_reservation(DOMID_SELF)" "$xen_pages"
        expect_value "$log" "current_reservation(d0)" "$xen_pages"
    fi
    # And what the command line asked for: dom0_mem=256M.
    if [[ $(value "$log" "current_reservation(DOMID_SELF)") == $((256 * 1024 / 4)) ]]; then
        pass "current_reservation(DOMID_SELF) is dom0_mem=256M in pages"
    else
        fail "current_reservation(DOMID_SELF) is not dom0_mem=256M in pages ($((256 * 1024 / 4)))"
    fi
    # A PV guest's maximum_gpfn is what it told Xen in shared_info's max_pfn, less one: for
    # Linux the end of the highest usable range of the memory map it prints ("Xen: [mem
    # A-B] usable"), which is above dom0_mem by the pages it remapped out of the low holes.
    local top
    top=$(sed -nE 's/^\[ *[0-9.]+\] Xen: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable$/\2/p' "$log" | tail -n1)
    if [[ -z $top ]]; then
        fail "Linux's log has no usable memory range to compare maximum_gpfn with"
    else
        expect_value "$log" "maximum_gpfn(DOMID_SELF)" $((0x$top >> 12))
    fi
    # Before the scratch domain exists d1 is unknown (the later "current_reservation(d1) = 4"
    # line is read by value, this one by errno).
    expect_err "$log" "current_reservation(d1)" ESRCH
    expect_err "$log" "acquire_resource_size(d0, grant_table, 0)" EPERM
    expect_err "$log" "acquire_resource_size(DOMID_SELF, grant_table, 0)" ESRCH
    expect_value "$log" "acquire_resource_size(d1, grant_table, shared)" 32
    expect_value "$log" "acquire_resource_size(d1, grant_table, status)" 4
    expect_value "$log" "resource_size(d1, grant_table, shared)" 32
    expect_value "$log" "populate_physmap(d1, 4 x order 0 at gfn 0x100)" 4
    expect_value "$log" "current_reservation(d1)" 4
    # set_max_mem(d1, 1024 KiB): 256 pages.
    expect_value "$log" "maximum_reservation(d1)" 256
    expect_value "$log" "map_resource(d1, grant_table, shared, frame 0, 1 frame) again" "4096 bytes"
    local seeded
    seeded=$(value "$log" "grant frame 0 bytes 0..16 after seeding entry 1 and remapping")
    if [[ ${seeded#* * * * * * * * } == "01 00 00 00 00 01 00 00" ]]; then
        pass "grant entry 1 written through one mapping is read through the next"
    else
        fail "grant frame after remap: '$seeded'"
    fi
    expect_value "$log" "destroy_domain(d1)" ok
}

check_boot "$log1"
# dom0_mem=...,max:256M: the limit in pages.
expect_value "$log1" "maximum_reservation(DOMID_SELF)" $((256 * 1024 / 4))
check_boot "$log2"
# No max: Xen leaves dom0's max_pages at UINT_MAX. The ioctl's int would make it -1 (EPERM).
expect_value "$log2" "maximum_reservation(DOMID_SELF)" 4294967295
expect_value "$log2" "maximum_reservation(d0)" 4294967295

echo
grep -h '^probe ' "$log1" | sed 's/^/  boot 1: /'
grep -h '^probe maximum_reservation' "$log2" | sed 's/^/  boot 2: /'
if ((fails)); then
    echo "real-linux-dom0: $fails of $checks checks FAILED"
    exit 1
fi
echo "real-linux-dom0: all $checks checks passed"
