#!/usr/bin/env bash
# Boots Debian's Xen 4.17 with Debian's Linux as an x86 PV dom0 under QEMU (TCG), with an
# initramfs holding a static `xenmem` (crates/xenmem-cli), runs its dom0 subcommands through
# /dev/xen/privcmd, and checks each answer against what Xen itself reports. Then runs the
# conformance suite through privcmd and diffs it against the embedded model configured as the
# same PV dom0. Two boots:
#   1. dom0_mem=256M,max:256M  dom0 has a page limit (65536 pages);
#   2. dom0_mem=256M           no limit: max_pages is 0xFFFFFFFF, which must print as unlimited.
#
# The /init is written by this script. QEMU's CPU is qemu64 with svm and npt: the scratch PVH
# domain needs HAP, and this Linux does not boot as a PV dom0 under `-cpu max`.
#
# Outputs (under out/, gitignored):
#   out/real-linux-dom0-cli.log          boot 1's serial console
#   out/real-linux-dom0-cli-nomax.log    boot 2's
#   out/real-linux-dom0-cli.conformance  boot 2's conformance lines (real Xen, PV dom0), which
#                                        must equal crates/xenmem-cli/tests/golden/x86_64-pv-dom0.txt
#   out/linux-dom0-cli/                  packages, kernel, initramfs, the static build
#
# Exit status: 0 when every check passed; 1 on a mismatch (each is printed, and the
# conformance diff's differing lines); 2 for a missing tool. Run as root on Debian 12.
# Environment: BOOT_TIMEOUT (seconds per boot, default 300), QEMU (default qemu-system-x86_64).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$repo/out"
work="$out/linux-dom0-cli"
timeout_s=${BOOT_TIMEOUT:-300}
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
    if ! apt-get install -y --no-install-recommends "${need[@]}"; then
        apt_update_once
        apt-get install -y --no-install-recommends "${need[@]}"
    fi
fi
command -v cargo >/dev/null || { echo "cargo not found: install a stable Rust toolchain" >&2; exit 2; }

# Downloads package $1 into $work unless a .deb of it is there (or in the probe script's
# cache); prints the file.
download() {
    local pkg=$1 deb
    deb=$(ls "$work/${pkg}"_*.deb "$out/linux-dom0/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
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
    gunzip -c "$work"/xen-root/boot/xen-4.17-amd64.gz >"$xen.tmp"
    mv "$xen.tmp" "$xen"
fi

# --- the dom0 kernel ---------------------------------------------------------------------------
vmlinux="$work/vmlinux"
privcmd_ko="$work/xen-privcmd.ko"
if [[ ! -s $vmlinux || ! -s $privcmd_ko ]]; then
    resolve() { apt-cache depends linux-image-amd64 2>/dev/null | sed -nE 's/^ *Depends: (linux-image-6\.1\.[^ ]*-amd64)$/\1/p' | head -n1; }
    kpkg=$(resolve)
    if [[ -z $kpkg ]]; then
        apt_update_once
        kpkg=$(resolve)
    fi
    [[ -n $kpkg ]] || { echo "cannot resolve linux-image-amd64's kernel package" >&2; exit 2; }
    echo "kernel package: $kpkg"
    kdeb=$(download "$kpkg")
    rm -rf "$work/kernel-root"
    mkdir -p "$work/kernel-root"
    dpkg-deb --fsys-tarfile "$kdeb" |
        tar -x -C "$work/kernel-root" --wildcards './boot/vmlinuz-*' '*/kernel/drivers/xen/xen-privcmd.ko'
    vmlinuz=$(ls "$work"/kernel-root/boot/vmlinuz-* | head -n1)
    # Xen decompresses a bzImage slowly under TCG; hand it the ELF inside the xz stream.
    offset=$(LC_ALL=C grep -m1 -obUaP '\xFD\x37\x7A\x58\x5A\x00' "$vmlinuz" | head -n1 | cut -d: -f1 || true)
    [[ -n $offset ]] || { echo "no xz stream in $vmlinuz" >&2; exit 2; }
    tail -c +"$((offset + 1))" "$vmlinuz" | xz -dc --single-stream >"$vmlinux.tmp" || ((PIPESTATUS[1] == 0))
    [[ $(head -c 4 "$vmlinux.tmp" | od -An -tx1 | tr -d ' ') == 7f454c46 ]] ||
        { echo "what $vmlinuz holds at $offset is not an ELF kernel" >&2; exit 2; }
    mv "$vmlinux.tmp" "$vmlinux"
    cp "$(find "$work/kernel-root" -name xen-privcmd.ko | head -n1)" "$privcmd_ko"
fi

# --- xenmem, static (the initramfs has no libc) ----------------------------------------------------
# Its own target dir: the static RUSTFLAGS would otherwise invalidate the workspace's builds;
# --target keeps them off the proc-macros (clap's derive), which must stay dynamic.
start=$EPOCHREALTIME
export CARGO_TARGET_DIR="$work/target"
(cd "$repo" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
    -p xenmem-cli --bin xenmem --target x86_64-unknown-linux-gnu)
bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/xenmem"
awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "static xenmem built in %.1f s\n", e - s }'

# --- the initramfs ---------------------------------------------------------------------------------
root="$work/initramfs"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
cp "$privcmd_ko" "$root/lib/modules/xen-privcmd.ko"
strip -o "$root/bin/xenmem" "$bin" 2>/dev/null || cp "$bin" "$root/bin/xenmem"
# Each command is echoed as `+ xenmem ARGS`, its output follows, then `= exit N`: the checks
# below read answers and exit statuses by command.
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp
x() { echo "+ xenmem $*"; /bin/xenmem "$@" 2>&1; echo "= exit $?"; }
echo "cli: start"
# Before xen-privcmd is loaded this Linux is no dom0 as far as user space can tell.
x --backend privcmd domain info 0
insmod /lib/modules/xen-privcmd.ko || echo "init: insmod xen-privcmd.ko failed"
x --backend privcmd reservation self
x --backend privcmd reservation 0
x --backend privcmd --json reservation 0
x --backend privcmd reservation 7
x --backend privcmd resource 0 --size-only
x --backend privcmd resource self --size-only
# The suite first: it creates its domU through domctl, and Xen hands out ids from a rover
# (a destroyed domain's id is not reused at once), so the model, whose domU is the first
# domain it creates, names it alike only if no other domain was created before.
x --backend privcmd conformance --out /tmp/conformance.lines
echo "cli: conformance lines begin"
cat /tmp/conformance.lines
echo "cli: conformance lines end"
created=$(/bin/xenmem --backend privcmd domain create --pages 4 --at 0x100 --max-kib 1024 --grant-frames 32 2>&1)
echo "+ xenmem --backend privcmd domain create --pages 4 --at 0x100 --max-kib 1024 --grant-frames 32"
echo "$created"
d=$(echo "$created" | sed -n 's/^created d\([0-9]*\):.*/\1/p')
echo "cli: scratch domain d$d"
if [ -n "$d" ]; then
    x --backend privcmd domain info "$d"
    x --backend privcmd reservation "$d"
    x --backend privcmd resource "$d" --id shared --size-only
    x --backend privcmd resource "$d" --id status --size-only
    x --backend privcmd resource "$d" --id shared --count 1
    x --backend privcmd resource "$d" --type ioreq_server --size-only
    x --backend privcmd resource "$d" --type ioreq_server --count 1
    x --backend privcmd read-frame "$d" 0x100 --len 64
    x --backend privcmd write-frame "$d" 0x101 --text "xenmem was here"
    x --backend privcmd read-frame "$d" 0x101 --len 32
    x --backend privcmd read-frame "$d" 0x5000 --len 16
    x --backend privcmd domain destroy "$d"
    x --backend privcmd domain info "$d"
fi
echo "cli: done"
reboot -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$work/initrd.gz"

# --- boot ------------------------------------------------------------------------------------------
boot() { # LOG DOM0_MEM
    local log=$1 mem=$2 start rc
    start=$EPOCHREALTIME
    set +e
    # The PVH scratch domain needs HAP (svm + npt); not -cpu
    # max, with which this Linux crashes as a PV dom0.
    timeout "$timeout_s" "$qemu" -nographic -no-reboot -monitor none -serial stdio -display none \
        -cpu qemu64,+svm,+npt -m 512 -kernel "$xen" \
        -append "console=com1 loglvl=all guest_loglvl=all dom0_mem=$mem" \
        -initrd "$vmlinux console=hvc0 earlyprintk=xen rdinit=/init quiet,$work/initrd.gz" \
        </dev/null >"$log" 2>&1
    rc=$?
    set -e
    awk -v s="$start" -v e="$EPOCHREALTIME" -v rc="$rc" -v m="$mem" \
        'BEGIN { printf "boot (dom0_mem=%s) to exit: %.2f s wall (qemu exit status %d)\n", m, e - s, rc }'
    tr -d '\r' <"$log" >"$log.txt"
    mv "$log.txt" "$log"
}

log1="$out/real-linux-dom0-cli.log"
log2="$out/real-linux-dom0-cli-nomax.log"
boot "$log1" "256M,max:256M"
boot "$log2" "256M"

# --- checks ----------------------------------------------------------------------------------------
fails=0
checks=0
pass() { checks=$((checks + 1)); echo "ok: $*"; }
fail() { checks=$((checks + 1)); fails=$((fails + 1)); echo "MISMATCH: $*"; }
# output LOG ARGS: what `xenmem ARGS` printed (up to its `= exit` line), and the status.
output() { awk -v c="+ xenmem $2" '$0 == c { on = 1; next } on && /^= exit / { exit } on { print }' "$1"; }
status() { awk -v c="+ xenmem $2" '$0 == c { on = 1; next } on && /^= exit / { print $3; exit }' "$1"; }
expect_status() { # LOG ARGS STATUS
    local got
    got=$(status "$1" "$2")
    if [[ $got == "$3" ]]; then pass "xenmem $2: exit $got"; else fail "xenmem $2: want exit $3, got '${got}'"; fi
}
expect_line() { # LOG ARGS LINE: the output holds exactly this line
    if output "$1" "$2" | grep -qxF -- "$3"; then pass "xenmem $2: $3"; else
        fail "xenmem $2: want line '$3', got: $(output "$1" "$2" | tr '\n' '|')"
    fi
}
expect_contains() { # LOG ARGS TEXT: some output line holds TEXT
    if output "$1" "$2" | grep -qF -- "$3"; then pass "xenmem $2: ...$3"; else
        fail "xenmem $2: want '$3' in: $(output "$1" "$2" | tr '\n' '|')"
    fi
}

check_boot() { # LOG
    local log=$1 s e n rs re xen_pages alloc initrd top d
    echo "--- $(basename "$log")"
    grep -q '^cli: done$' "$log" || { fail "the initramfs did not finish (see $log)"; tail -n 30 "$log"; return; }
    # Not a dom0 yet: one line, exit 2.
    expect_status "$log" "--backend privcmd domain info 0" 2
    local first
    first=$(output "$log" "--backend privcmd domain info 0")
    if [[ $first == "xenmem: not a Xen dom0: "* && $(wc -l <<<"$first") == 1 ]]; then pass "before insmod: '$first'"; else fail "before insmod: '$first'"; fi

    # What Xen gave dom0, from Xen's own log. The PV dom0 builder (xen/arch/x86/pv/
    # dom0_build.c) prints "Dom0 alloc.: START->END (N pages to be allocated)" and, below it,
    # "Init. ramdisk: RSTART->REND". By then dom0 owns the contiguous chunk [START, END) and
    # the initrd's pages, which Xen hands over in place (PFN_UP of its length) rather than
    # copying; N is what is still missing of dom0's total, so the total is
    # (END - START) / 4096 + ceil((REND - RSTART) / 4096) + N. Seen: 32768 + 392 + 32376 =
    # 65536, which is also dom0_mem=256M in pages: Linux released none ("Released 0 page(s)").
    alloc=$(sed -nE 's/^\(XEN\) +Dom0 alloc\.: +([0-9a-f]+)->([0-9a-f]+)( \(([0-9]+) pages to be allocated\))?$/\1 \2 \4/p' "$log" | head -n1)
    initrd=$(sed -nE 's/^\(XEN\) +Init\. ramdisk: +([0-9a-f]+)->([0-9a-f]+)$/\1 \2/p' "$log" | head -n1)
    if [[ -z $alloc || -z $initrd ]]; then
        fail "Xen's log lacks the 'Dom0 alloc.' or 'Init. ramdisk' line to compare with"
    else
        read -r s e n <<<"$alloc"
        read -r rs re <<<"$initrd"
        xen_pages=$(((0x$e - 0x$s) / 4096 + (0x$re - 0x$rs + 4095) / 4096 + ${n:-0}))
        echo "Xen's log: $xen_pages pages for dom0"
        expect_line "$log" "--backend privcmd reservation self" \
            "current_reservation(DOMID_SELF) = $xen_pages pages ($((xen_pages * 4)) KiB)"
        expect_line "$log" "--backend privcmd reservation 0" \
            "current_reservation(d0) = $xen_pages pages ($((xen_pages * 4)) KiB)"
    fi
    # dom0_mem=256M in pages.
    expect_line "$log" "--backend privcmd reservation 0" "current_reservation(d0) = 65536 pages (262144 KiB)"
    # A PV guest's maximum_gpfn: the end of the highest usable range Linux prints.
    top=$(sed -nE 's/^\[ *[0-9.]+\] Xen: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable$/\2/p' "$log" | tail -n1)
    if [[ -z $top ]]; then
        fail "Linux's log has no usable memory range to compare maximum_gpfn with"
    else
        expect_line "$log" "--backend privcmd reservation 0" "maximum_gpfn(d0) = $(printf '%#x' $((0x$top >> 12)))"
    fi
    # No domain 7: ESRCH by name, for all three queries, exit 1.
    expect_line "$log" "--backend privcmd reservation 7" "current_reservation(d7) -> -ESRCH (errno 3)"
    expect_line "$log" "--backend privcmd reservation 7" "maximum_reservation(d7) -> -ESRCH (errno 3)"
    expect_line "$log" "--backend privcmd reservation 7" "maximum_gpfn(d7) -> -ESRCH (errno 3)"
    expect_status "$log" "--backend privcmd reservation 7" 1
    # acquire_resource: the caller's own id is EPERM, DOMID_SELF ESRCH (XEN-FACTS, seen).
    expect_line "$log" "--backend privcmd resource 0 --size-only" "acquire_resource_size(d0, grant_table, id 0) -> -EPERM (errno 1)"
    expect_line "$log" "--backend privcmd resource self --size-only" "acquire_resource_size(DOMID_SELF, grant_table, id 0) -> -ESRCH (errno 3)"

    # The scratch domain, created as the probe does.
    d=$(sed -nE 's/^cli: scratch domain d([0-9]+)$/\1/p' "$log" | head -n1)
    if [[ -z $d ]]; then
        fail "no scratch domain: $(grep -A2 '^+ xenmem --backend privcmd domain create' "$log" | tail -n2 | tr '\n' '|')"
        return
    fi
    pass "scratch domain d$d created"
    expect_line "$log" "--backend privcmd domain info $d" "getdomaininfo(d$d) = tot_pages 4 max_pages 256 flags hvm,paused,hap"
    expect_line "$log" "--backend privcmd reservation $d" "current_reservation(d$d) = 4 pages (16 KiB)"
    expect_line "$log" "--backend privcmd reservation $d" "maximum_reservation(d$d) = 256 pages (1024 KiB)"
    expect_line "$log" "--backend privcmd reservation $d" "maximum_gpfn(d$d) = 0x103"
    expect_line "$log" "--backend privcmd resource $d --id shared --size-only" "acquire_resource_size(d$d, grant_table, id 0) = 32 frames"
    expect_line "$log" "--backend privcmd resource $d --id status --size-only" "acquire_resource_size(d$d, grant_table, id 1) = 4 frames"
    expect_status "$log" "--backend privcmd resource $d --id shared --count 1" 0
    expect_line "$log" "--backend privcmd resource $d --id shared --count 1" "00001000"
    # ioreq pages: the size query answers 2 (one buffered page, one synchronous) but the
    # domain runs no ioreq server, so mapping them fails (golden: acquire.size and acquire.ioreq).
    expect_line "$log" "--backend privcmd resource $d --type ioreq_server --size-only" "acquire_resource_size(d$d, ioreq_server, id 0) = 2 frames"
    expect_status "$log" "--backend privcmd resource $d --type ioreq_server --count 1" 1
    expect_contains "$log" "--backend privcmd resource $d --type ioreq_server --count 1" "-ENOENT (errno 2)"
    # A freshly populated page reads zeros (XEN-FACTS: seen through a foreign mapping).
    expect_line "$log" "--backend privcmd read-frame $d 0x100 --len 64" \
        "00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|"
    expect_status "$log" "--backend privcmd write-frame $d 0x101 --text xenmem was here" 0
    # Written through one mapping (one process), read through another: Xen's frame.
    expect_line "$log" "--backend privcmd read-frame $d 0x101 --len 32" \
        "00000000  78 65 6e 6d 65 6d 20 77  61 73 20 68 65 72 65 00  |xenmem was here.|"
    # Nothing at that GFN of the domU: the kernel's foreign mapping gets Xen's -EINVAL, as a
    # PVH dom0's foreign batch entry does (XEN-FACTS).
    expect_status "$log" "--backend privcmd read-frame $d 0x5000 --len 16" 1
    expect_contains "$log" "--backend privcmd read-frame $d 0x5000 --len 16" "-EINVAL (errno 22)"
    expect_line "$log" "--backend privcmd domain destroy $d" "destroy_domain(d$d) = ok"
}

check_boot "$log1"
expect_line "$log1" "--backend privcmd reservation 0" "maximum_reservation(d0) = 65536 pages (262144 KiB)"
check_boot "$log2"
# No max: Xen leaves max_pages at UINT_MAX; privcmd's int would make it -1/EPERM.
expect_line "$log2" "--backend privcmd reservation 0" "maximum_reservation(d0) = unlimited"
if output "$log2" "--backend privcmd --json reservation 0" | tr -d ' \n' | grep -qF '"maximum_reservation":{"unlimited":true,"value":4294967295}'; then
    pass "--json: maximum_reservation 4294967295, unlimited"
else
    fail "--json maximum_reservation: $(output "$log2" "--backend privcmd --json reservation 0" | tr -d '\n')"
fi

# --- the conformance diff --------------------------------------------------------------------------
for log in "$log1" "$log2"; do
    echo "--- conformance, $(basename "$log")"
    output "$log" "--backend privcmd conformance --out /tmp/conformance.lines" | grep -E '^(real|DIFF|  real Xen|  model|conformance)'
    summary=$(output "$log" "--backend privcmd conformance --out /tmp/conformance.lines" | grep '^conformance (pv dom0, privcmd):' || true)
    if [[ $summary =~ ^conformance\ \(pv\ dom0,\ privcmd\):\ ([0-9]+)\ observations,\ ([0-9]+)\ agree,\ 0\ differ$ ]]; then
        pass "$summary"
    else
        fail "${summary:-the conformance run printed no summary}"
    fi
done
sed -n '/^cli: conformance lines begin$/,/^cli: conformance lines end$/p' "$log2" | sed '1d;$d' >"$out/real-linux-dom0-cli.conformance"
# Real Xen must still give the answers recorded for cargo test (the golden's '#' lines are
# its header).
golden="$repo/crates/xenmem-cli/tests/golden/x86_64-pv-dom0.txt"
if diff -u <(grep -v '^#' "$golden") "$out/real-linux-dom0-cli.conformance" >"$out/real-linux-dom0-cli.golden.diff"; then
    pass "the PV dom0 golden matches this run ($(wc -l <"$out/real-linux-dom0-cli.conformance") lines)"
else
    fail "real Xen's PV dom0 answers changed since $golden was recorded:"
    cat "$out/real-linux-dom0-cli.golden.diff"
fi

echo
if ((fails)); then
    echo "real-linux-dom0-cli: $fails of $checks checks FAILED"
    exit 1
fi
echo "real-linux-dom0-cli: all $checks checks passed"
