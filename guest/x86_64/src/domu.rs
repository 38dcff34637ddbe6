//! How x86_64's dom0 makes its domU: builds an unprivileged PVH domU running this same kernel
//! image, lets it run the domU suite, and collects what it wrote. The steps both architectures
//! share (the sibling, the foreign-mapped windows, the wait) are the runtime's `toolstack`.
//!
//! The image is the ELF file Xen loaded as dom0's first module (the script passes the kernel
//! twice: as the dom0 kernel and as that module), checked against the running kernel's own
//! read-only segments so that the domU really is a copy of dom0.
//!
//! The domU's guest-physical layout (all RAM, 16 MiB from gfn 0, set as its e820 with
//! XENMEM_set_memory_map so that it finds its RAM and holes exactly as dom0 does):
//! - the image's load segments at their physical addresses (1 MiB up);
//! - the page after the image: its `hvm_start_info`, then its command line at offset 64,
//!   `role=domu domid=N sibling=M log=ADDR,SIZE`;
//! - the [`LOG_PAGES`] pages after that: the log area (the runtime's `log`).
//!
//! Dom0 foreign-maps the image and start-info pages into a hole of its own physmap, fills them
//! and unmaps them again before the domU starts (so the domU's own memory operations on them
//! see no foreign references); only the log pages stay mapped until the domU has shut down.
//! The rest of the domU's RAM is never touched by dom0: the kernel zeroes its own .bss and
//! reads nothing else it did not write.

use core::fmt::Write;

use xenmem::abi::domctl::{
    XenDomctl, XEN_DOMCTL_GETHVMCONTEXT, XEN_DOMCTL_PAUSEDOMAIN, XEN_DOMCTL_SETHVMCONTEXT,
};
use xenmem::abi::{HYPERVISOR_MEMORY_OP, XEN_PAGE_SIZE};
use xenmem::hypercall::x86_64::HypercallPage;
use xenmem::{DomId, Gfn, Hypercall, MemFlags, Xen};
use xenmem_guest_runtime::console::LineBuf;
use xenmem_guest_runtime::log;
use xenmem_guest_runtime::once::OnceBuf;
use xenmem_guest_runtime::toolstack::{self, Fail, Waited, Window};
use xenmem_guest_runtime::Arch;

use crate::arch::X86;
use crate::bootinfo;
use crate::elf::Image;
use crate::memmap::E820_RAM;

const PAGE: u64 = XEN_PAGE_SIZE as u64;
/// The domU's RAM: 16 MiB from gfn 0, allocated in 2 MiB extents.
const RAM_PAGES: u64 = 4096;
const RAM_ORDER: u32 = 9;
/// Its limit: room beyond its RAM for what the domU suite itself populates.
const MAX_MEM_KIB: u64 = 32 * 1024;
/// The log area: 64 KiB.
pub const LOG_PAGES: u64 = 16;
/// Most pages dom0 maps at once (image with its .bss, start info, log): the size of its
/// window hole. The image's .bss holds the economy's 1.25 MiB of arrays (economy.rs).
pub const WINDOW_PAGES: u64 = 1024;
/// Where the command line sits in the start-info page.
const CMDLINE_OFFSET: u64 = 64;
/// XENMEM_set_memory_map: a toolstack sets a domain's e820 (`struct xen_foreign_memory_map`).
const XENMEM_SET_MEMORY_MAP: u64 = 13;

/// The hvm context Xen gives for a fresh PVH domain is a few KiB (header, LAPIC, MTRR, xsave,
/// ... records); the one we load is its header plus a CPU record.
/// One per domU dom0 builds (the suite's, then the device model's).
static HVM_BUF: [OnceBuf<16384>; 2] = [OnceBuf::new(), OnceBuf::new()];
/// The domU's log, copied out before its pages go away.
static LOG_COPY: [OnceBuf<{ (LOG_PAGES * PAGE) as usize }>; 2] = [OnceBuf::new(), OnceBuf::new()];

/// How the domU's run ended, with its log.
pub struct Report {
    pub domid: DomId,
    pub waited: Waited,
    /// The log header as the domU left it.
    pub header: log::Header,
    /// The log's text (whole lines, the domU's tags included).
    pub text: &'static [u8],
}

/// Builds the domU from `module` (this kernel's ELF file), runs it, and returns its report.
///
/// # Safety
///
/// `window..window + WINDOW_PAGES` must be a hole of dom0's physmap below 4 GiB (which the
/// boot identity map covers) where no Rust object lives.
pub unsafe fn run(xen: &Xen<HypercallPage>, module: &'static [u8], window: Gfn) -> Result<Report, Fail> {
    let start = |id| {
        xen.unpause_domain(id).map_err(Fail::xen("unpausedomain"))?;
        toolstack::wait_for_shutdown::<X86>(xen, id)
    };
    // SAFETY: the caller's contract.
    unsafe { run_as(xen, module, window, "domu", start) }
}

/// [`run`] with the domU's role (`role=` on its command line) and what runs it: `drive` gets
/// the built, paused domU, lets it run (unpauses it) and returns once it has stopped.
///
/// # Safety
///
/// As [`run`]'s.
pub unsafe fn run_as(
    xen: &Xen<HypercallPage>,
    module: &'static [u8],
    window: Gfn,
    role: &str,
    drive: impl FnOnce(DomId) -> Result<Waited, Fail>,
) -> Result<Report, Fail> {
    let image = Image::parse(module).map_err(Fail::text("the domU image is not a usable ELF"))?;
    check_same_as_running_kernel(&image)?;
    let layout = Layout::new(&image)?;

    let sibling = toolstack::make_sibling::<X86>(xen)?;
    let id = xen.create_domain(DomId(0), &(X86::DOMU_CONFIG)(1, 32)).map_err(Fail::xen("createdomain"))?;
    let mut domu = Domu { xen, id, boot: None, log: None, torn_down: false };
    // SAFETY: the caller's contract on `window`.
    unsafe { domu.build(&image, &layout, window, sibling, role)? };
    let waited = drive(id)?;
    if waited.reason.is_none() {
        // Hung: stop it before reading its log, which it might still be writing.
        // SAFETY: pausedomain's body holds no guest handles.
        unsafe { xen.domctl(&mut XenDomctl::new(XEN_DOMCTL_PAUSEDOMAIN, id.raw())) }
            .map_err(Fail::xen("pausedomain"))?;
    }
    let (header, text) = domu.collect_log(&layout)?;
    // Stopped but not yet destroyed: its pages are still there to foreign-map. Measured once
    // a boot, on the suite's domU.
    if role == "domu" {
        crate::economy::run(id);
    }
    domu.teardown()?;
    xen.destroy_domain(sibling).map_err(Fail::xen("destroydomain (sibling)"))?;
    Ok(Report { domid: id, waited, header, text })
}

/// Checks that every read-only load segment of `image` is byte for byte what is loaded and
/// running at its address now. (Writable segments may have changed since boot; the domU zeroes
/// .bss itself and gets .data from the file.)
fn check_same_as_running_kernel(image: &Image<'_>) -> Result<(), Fail> {
    let own = xenmem_guest_runtime::image_range();
    for s in image.segments().iter().filter(|s| !s.writable) {
        let bytes = image.file_bytes(s);
        let end = s.paddr + bytes.len() as u64;
        if s.paddr < own.start || end > own.end {
            return Err(Fail::value("the module is not this kernel: a segment lies outside it, at", s.paddr));
        }
        // SAFETY: the range lies inside the running kernel's image (checked above), mapped by
        // the boot identity map; it is a read-only segment, which nothing writes.
        let running = unsafe { core::slice::from_raw_parts(s.paddr as *const u8, bytes.len()) };
        if let Some(i) = running.iter().zip(bytes).position(|(a, b)| a != b) {
            return Err(Fail::value(
                "the module is not this kernel: read-only bytes differ at",
                s.paddr + i as u64,
            ));
        }
    }
    Ok(())
}

/// Where things go in the domU's physical memory.
struct Layout {
    /// The image's first page.
    first: Gfn,
    /// Pages from `first` to the start-info page, inclusive.
    boot_pages: u64,
    entry: u32,
    start_info: u64,
    log: u64,
}

impl Layout {
    fn new(image: &Image<'_>) -> Result<Layout, Fail> {
        let (lo, hi) = image.span();
        if lo < PAGE || hi > RAM_PAGES * PAGE {
            return Err(Fail::value("the image does not fit the domU's RAM; it ends at", hi));
        }
        let first = lo / PAGE;
        let start_info = hi.next_multiple_of(PAGE);
        let log = start_info + PAGE;
        let end = log + LOG_PAGES * PAGE;
        let pages = end / PAGE - first;
        if end > RAM_PAGES * PAGE || pages > WINDOW_PAGES {
            return Err(Fail::value("image, start info and log do not fit; pages", pages));
        }
        Ok(Layout { first: Gfn(first), boot_pages: log / PAGE - first, entry: image.entry, start_info, log })
    }
}

/// A domU under construction or running; tears itself down if dropped on an error path.
struct Domu<'x> {
    xen: &'x Xen<HypercallPage>,
    id: DomId,
    /// The image and start-info pages, mapped only while dom0 fills them.
    boot: Option<Window>,
    /// The log pages, mapped until the domU is torn down.
    log: Option<Window>,
    torn_down: bool,
}

impl Domu<'_> {
    /// # Safety
    ///
    /// As [`run`]'s, for `window`.
    unsafe fn build(
        &mut self,
        image: &Image<'_>,
        layout: &Layout,
        window: Gfn,
        sibling: DomId,
        role: &str,
    ) -> Result<(), Fail> {
        let (xen, id) = (self.xen, self.id);
        // max_vcpus is what creates vCPU 0; without it there is no vCPU to load state into.
        xen.set_max_vcpus(id, 1).map_err(Fail::xen("max_vcpus"))?;
        xen.set_max_mem(id, MAX_MEM_KIB).map_err(Fail::xen("max_mem"))?;

        let extent = 1u64 << RAM_ORDER;
        let mut gfns = [Gfn(0); (RAM_PAGES >> RAM_ORDER) as usize];
        for (i, g) in gfns.iter_mut().enumerate() {
            *g = Gfn(i as u64 * extent);
        }
        let done = xen
            .populate_physmap(id, RAM_ORDER, MemFlags::empty(), &mut gfns)
            .map_err(Fail::xen("populate_physmap"))?;
        if done != gfns.len() {
            return Err(Fail::value("populate_physmap: extents done", done as u64));
        }
        set_memory_map(xen, id, &[(0, RAM_PAGES * PAGE, E820_RAM)])?;

        // SAFETY: the first pages of the caller's window hole (`run`'s contract).
        let w = self.boot.insert(unsafe { Window::new(layout.first, window, layout.boot_pages) });
        w.map(xen, id)?;
        // Every page the domU will read gets written in full.
        w.zero_all();
        for s in image.segments() {
            w.write(s.paddr, image.file_bytes(s))?;
        }
        let cmdline_at = layout.start_info + CMDLINE_OFFSET;
        w.write(layout.start_info, &bootinfo::encode(cmdline_at))?;
        let mut line = LineBuf::<128>::new();
        // Ends with the NUL the start info's reader looks for.
        let _ = write!(
            line,
            "role={role} domid={} sibling={} log={:#x},{:#x}\0",
            id.raw(),
            sibling.raw(),
            layout.log,
            LOG_PAGES * PAGE
        );
        if line.overflowed() {
            return Err(Fail::new("domU command line too long"));
        }
        w.write(cmdline_at, line.as_bytes())?;
        // Unmapped in place, so that on an error the teardown still sees what is left.
        if let Some(w) = self.boot.as_mut() {
            w.unmap(xen)?;
        }
        self.boot = None;

        let at = Gfn(window.raw() + layout.boot_pages);
        // SAFETY: the window hole's pages after the boot pages (`Layout::new` checked that
        // both fit in WINDOW_PAGES).
        let w = self.log.insert(unsafe { Window::new(Gfn(layout.log / PAGE), at, LOG_PAGES) });
        w.map(xen, id)?;
        w.zero_all();
        w.write(layout.log, &log::initial_header())?;

        load_vcpu(xen, id, layout.entry, layout.start_info)
    }

    /// Copies the log out of the domU's memory.
    fn collect_log(&self, layout: &Layout) -> Result<(log::Header, &'static [u8]), Fail> {
        let w = self.log.as_ref().ok_or(Fail::new("log not mapped"))?;
        let mut raw = [0u8; log::TEXT];
        w.read(layout.log, &mut raw)?;
        let header = log::Header::decode(&raw);
        let copy = LOG_COPY.iter().find_map(OnceBuf::take).ok_or(Fail::new("log buffer already used"))?;
        let len = (header.len as usize).min(copy.len() - log::TEXT);
        let text = &mut copy[..len];
        w.read(layout.log + log::TEXT as u64, text)?;
        Ok((header, text))
    }

    /// Unmaps dom0's windows, then destroys the domU (a domain stays dying while its pages
    /// are still mapped elsewhere).
    fn teardown(&mut self) -> Result<(), Fail> {
        self.torn_down = true;
        let mut result = Ok(());
        for w in [self.boot.take(), self.log.take()].iter_mut().flatten() {
            result = result.and(w.unmap(self.xen));
        }
        // Even with a page still mapped: Xen then keeps the domain dying until dom0 resets.
        result.and(self.xen.destroy_domain(self.id).map_err(Fail::xen("destroydomain")))
    }
}

impl Drop for Domu<'_> {
    fn drop(&mut self) {
        // Only reached with work left on an error path: best effort, the error that got us
        // here is what gets reported.
        if !self.torn_down {
            let _ = self.teardown();
        }
    }
}

/// XENMEM_set_memory_map for `domid`: its e820, which its XENMEM_memory_map then returns.
fn set_memory_map(xen: &Xen<HypercallPage>, domid: DomId, regions: &[(u64, u64, u32)]) -> Result<(), Fail> {
    const MAX: usize = 4;
    let mut raw = [0u8; MAX * 20];
    if regions.len() > MAX {
        return Err(Fail::new("too many e820 regions"));
    }
    for (e, &(start, size, kind)) in raw.chunks_exact_mut(20).zip(regions) {
        e[0..8].copy_from_slice(&start.to_le_bytes());
        e[8..16].copy_from_slice(&size.to_le_bytes());
        e[16..20].copy_from_slice(&kind.to_le_bytes());
    }
    // struct xen_foreign_memory_map: domid u16 @0, then struct xen_memory_map @8
    // (nr_entries u32 @8, buffer handle @16).
    #[repr(C)]
    struct ForeignMemoryMap {
        domid: u16,
        _pad: [u16; 3],
        nr_entries: u32,
        _pad2: u32,
        buffer: u64,
    }
    let mut arg = ForeignMemoryMap {
        domid: domid.raw(),
        _pad: [0; 3],
        nr_entries: regions.len() as u32,
        _pad2: 0,
        buffer: raw.as_mut_ptr() as u64,
    };
    let args = [XENMEM_SET_MEMORY_MAP, core::ptr::addr_of_mut!(arg) as u64, 0, 0, 0];
    // SAFETY: XENMEM_set_memory_map reads `arg` and `nr_entries` 20-byte entries at `buffer`,
    // both live locals not otherwise borrowed during the call.
    let rc = unsafe { xen.backend().hypercall(HYPERVISOR_MEMORY_OP, args) };
    xenmem::XenError::check(rc).map(drop).map_err(|e| Fail::xen("set_memory_map")(e.into()))
}

/// Loads vCPU 0's initial state: Xen's own header record from gethvmcontext (it carries this
/// machine's CPUID and TSC rate, which the load checks), a CPU record for the PVH entry state,
/// and the end record. A never-run vCPU has no CPU record of its own to edit.
fn load_vcpu(xen: &Xen<HypercallPage>, id: DomId, entry: u32, start_info: u64) -> Result<(), Fail> {
    const HEADER_CODE: u16 = 1;
    const HEADER_LEN: usize = 24;
    const DESC: usize = 8;
    let buf = HVM_BUF.iter().find_map(OnceBuf::take).ok_or(Fail::new("hvm context buffer already used"))?;

    // xen_domctl_hvmcontext: size u32 @0, buffer handle @8; a null buffer asks for the size.
    let mut op = XenDomctl::new(XEN_DOMCTL_GETHVMCONTEXT, id.raw());
    // SAFETY: the buffer handle is null, so Xen writes only the size into `op`.
    unsafe { xen.domctl(&mut op) }.map_err(Fail::xen("gethvmcontext (size)"))?;
    let need = op.u[0] as u32 as usize;
    if need > buf.len() {
        return Err(Fail::value("hvm context larger than the buffer", need as u64));
    }
    op.u[0] = buf.len() as u64;
    op.u[1] = buf.as_mut_ptr() as u64;
    // SAFETY: Xen writes at most `size` bytes at the buffer, which `buf` (a static borrowed for
    // the rest of the run) holds.
    unsafe { xen.domctl(&mut op) }.map_err(Fail::xen("gethvmcontext"))?;
    let got = op.u[0] as u32 as usize;
    let code = u16::from_le_bytes([buf[0], buf[1]]);
    let len = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    if got < DESC + HEADER_LEN || code != HEADER_CODE || len != HEADER_LEN {
        return Err(Fail::new("gethvmcontext did not start with a header record"));
    }

    let cpu = cpu_record(entry, start_info);
    let mut at = DESC + HEADER_LEN;
    for piece in [&descriptor(CPU_CODE, CPU_LEN)[..], &cpu[..], &descriptor(0, 0)[..]] {
        buf[at..at + piece.len()].copy_from_slice(piece);
        at += piece.len();
    }
    let mut op = XenDomctl::new(XEN_DOMCTL_SETHVMCONTEXT, id.raw());
    op.u[0] = at as u64;
    op.u[1] = buf.as_ptr() as u64;
    // SAFETY: Xen reads `size` bytes at the buffer, which `buf` holds.
    unsafe { xen.domctl(&mut op) }.map_err(Fail::xen("sethvmcontext"))
}

/// `struct hvm_save_descriptor`: typecode u16, instance u16 (vCPU 0 here), length u32.
fn descriptor(code: u16, len: usize) -> [u8; 8] {
    let mut d = [0u8; 8];
    d[0..2].copy_from_slice(&code.to_le_bytes());
    d[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    d
}

const CPU_CODE: u16 = 2;
/// `sizeof(struct hvm_hw_cpu)` in Xen 4.17 (`public/arch-x86/hvm/save.h`).
const CPU_LEN: usize = 1032;

/// The PVH entry state (Xen's docs/misc/pvh.pandoc, as Xen's own dom0 builder sets it): 32-bit
/// protected mode, paging off, flat 4 GiB segments, `%ebx` = start info, everything else 0.
fn cpu_record(entry: u32, start_info: u64) -> [u8; CPU_LEN] {
    // Offsets in struct hvm_hw_cpu (checked with Debian's libxen-dev 4.17 headers).
    const RBX: usize = 520;
    const RIP: usize = 640;
    const RFLAGS: usize = 648;
    const CR0: usize = 656;
    const LIMITS: usize = 768; // cs, ds, es, fs, gs, ss, tr, ldtr (u32 each)
    const ARBYTES: usize = 888; // same order
    const CR0_PE_ET: u64 = 0x11; // ET is required by the load's CR0 check
    const FLAT: u32 = 0xffff_ffff;
    const CODE: u32 = 0xc9b; // Xen's 12-bit attributes: present, 32-bit, 4 KiB granular, code
    const DATA: u32 = 0xc93;
    const TSS: u32 = 0x8b; // busy 32-bit TSS
    let mut c = [0u8; CPU_LEN];
    let mut put64 = |o: usize, v: u64| c[o..o + 8].copy_from_slice(&v.to_le_bytes());
    put64(RBX, start_info);
    put64(RIP, entry as u64);
    put64(RFLAGS, 2); // bit 1 is always set
    put64(CR0, CR0_PE_ET);
    let limits = [FLAT, FLAT, FLAT, FLAT, FLAT, FLAT, 0x67, 0];
    let attrs = [CODE, DATA, DATA, DATA, DATA, DATA, TSS, 0];
    for (i, (l, a)) in limits.iter().zip(attrs).enumerate() {
        c[LIMITS + 4 * i..LIMITS + 4 * i + 4].copy_from_slice(&l.to_le_bytes());
        c[ARBYTES + 4 * i..ARBYTES + 4 * i + 4].copy_from_slice(&a.to_le_bytes());
    }
    c
}
