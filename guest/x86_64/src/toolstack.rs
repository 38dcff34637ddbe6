//! Dom0 as a toolstack: builds an unprivileged PVH domU running this same kernel image, lets
//! it run the domU suite, and collects what it wrote.
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
//! - the [`LOG_PAGES`] pages after that: the log area (log.rs).
//!
//! Dom0 foreign-maps the image and start-info pages into a hole of its own physmap, fills them
//! and unmaps them again before the domU starts (so the domU's own memory operations on them
//! see no foreign references); only the log pages stay mapped until the domU has shut down.
//! The rest of the domU's RAM is never touched by dom0: the kernel zeroes its own .bss and
//! reads nothing else it did not write.

use core::fmt::{self, Write};

use xenmem::abi::domctl::{
    XenDomctl, XEN_DOMCTL_GETHVMCONTEXT, XEN_DOMCTL_PAUSEDOMAIN, XEN_DOMCTL_SETHVMCONTEXT,
    XEN_DOMINF_SHUTDOWN,
};
use xenmem::abi::{HYPERVISOR_MEMORY_OP, XEN_PAGE_SIZE};
use xenmem::hypercall::x86_64::HypercallPage;
use xenmem::{DomId, EntryStatus, Gfn, Hypercall, MemFlags, Xen};

use crate::elf::Image;
use crate::once::OnceBuf;
use crate::{bootinfo, hv, log};

const PAGE: u64 = XEN_PAGE_SIZE as u64;
/// The domU's RAM: 16 MiB from gfn 0, allocated in 2 MiB extents.
const RAM_PAGES: u64 = 4096;
const RAM_ORDER: u32 = 9;
/// Its limit: room beyond its RAM for what the domU suite itself populates.
const MAX_MEM_KIB: u64 = 32 * 1024;
/// The log area: 64 KiB.
pub const LOG_PAGES: u64 = 16;
/// Most pages dom0 maps at once (image, start info, log): the size of its window hole.
pub const WINDOW_PAGES: u64 = 256;
/// Pages mapped per add_to_physmap_batch call (keeps the arrays small on the stack).
const MAP_CHUNK: usize = 64;
/// Where the command line sits in the start-info page.
const CMDLINE_OFFSET: u64 = 64;
const E820_RAM: u32 = 1;
/// XENMEM_set_memory_map: a toolstack sets a domain's e820 (`struct xen_foreign_memory_map`).
const XENMEM_SET_MEMORY_MAP: u64 = 13;
/// The domU gets this long (wall time, by the TSC) before it counts as hung.
const TIMEOUT_SECONDS: u64 = 30;
/// A bound on polls in case the TSC frequency is unknown or wrong. While the domU runs, each
/// yield gives it a time slice (about 10 ms here); a whole domU run takes a few dozen polls.
const MAX_POLLS: u64 = 10_000;

/// The hvm context Xen gives for a fresh PVH domain is a few KiB (header, LAPIC, MTRR, xsave,
/// ... records); the one we load is its header plus a CPU record.
static HVM_BUF: OnceBuf<16384> = OnceBuf::new();
/// The domU's log, copied out before its pages go away.
static LOG_COPY: OnceBuf<{ (LOG_PAGES * PAGE) as usize }> = OnceBuf::new();

/// Why building or running the domU failed.
#[derive(Debug)]
pub struct Fail {
    what: &'static str,
    detail: Detail,
}

#[derive(Debug)]
enum Detail {
    None,
    Xen(xenmem::Error),
    Value(u64),
    Text(&'static str),
}

impl Fail {
    fn new(what: &'static str) -> Fail {
        Fail { what, detail: Detail::None }
    }
    fn xen(what: &'static str) -> impl FnOnce(xenmem::Error) -> Fail {
        move |e| Fail { what, detail: Detail::Xen(e) }
    }
    fn value(what: &'static str, v: u64) -> Fail {
        Fail { what, detail: Detail::Value(v) }
    }
    fn text(what: &'static str) -> impl FnOnce(&'static str) -> Fail {
        move |t| Fail { what, detail: Detail::Text(t) }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        match &self.detail {
            Detail::None => Ok(()),
            Detail::Xen(e) => write!(f, ": {e}"),
            Detail::Value(v) => write!(f, ": {v:#x}"),
            Detail::Text(t) => write!(f, ": {t}"),
        }
    }
}

/// How the domU's run ended, with its log.
pub struct Report {
    pub domid: DomId,
    /// The log header as the domU left it.
    pub header: log::Header,
    /// The log's text (whole lines, the domU's tags included).
    pub text: &'static [u8],
    /// The shutdown reason (`SHUTDOWN_*`), or `None` if it never shut down in time.
    pub shutdown_reason: Option<u32>,
    /// Polls dom0 made while waiting.
    pub polls: u64,
}

impl Report {
    /// `None` if the domU finished its suite and powered off; otherwise why not.
    pub fn failure(&self) -> Option<&'static str> {
        match (self.shutdown_reason, self.header.state) {
            (None, _) => Some("the domU did not shut down in time"),
            (Some(_), log::FAILED) => Some("the domU reported a failure"),
            (Some(hv::SHUTDOWN_CRASH), _) => Some("the domU crashed"),
            (Some(hv::SHUTDOWN_REBOOT), s) if s != log::DONE => {
                Some("the domU stopped before finishing: reboot, which is how Xen ends a triple fault")
            }
            (Some(_), s) if s != log::DONE => Some("the domU stopped before finishing"),
            (Some(hv::SHUTDOWN_POWEROFF), _) if self.header.magic == log::MAGIC => None,
            (Some(_), _) => Some("the domU finished but shut down oddly"),
        }
    }
}

/// Builds the domU from `module` (this kernel's ELF file), runs it, and returns its report.
/// `window` is the first of [`WINDOW_PAGES`] gfns of a hole in dom0's physmap.
pub fn run(xen: &Xen<HypercallPage>, module: &'static [u8], window: Gfn) -> Result<Report, Fail> {
    let image = Image::parse(module).map_err(Fail::text("the domU image is not a usable ELF"))?;
    check_same_as_running_kernel(&image)?;
    let layout = Layout::new(&image)?;

    // A sibling for the domU's cases to name: a second unprivileged domain that exists (with
    // a little RAM) but never runs.
    let sibling = make_sibling(xen)?;
    let id =
        xen.create_domain(DomId(0), &xenmem::domctl::pvh_domu(1, 32)).map_err(Fail::xen("createdomain"))?;
    let mut domu = Domu { xen, id, boot: None, log: None, torn_down: false };
    domu.build(&image, &layout, window, sibling)?;
    xen.unpause_domain(id).map_err(Fail::xen("unpausedomain"))?;
    let (shutdown_reason, polls) = domu.wait()?;
    if shutdown_reason.is_none() {
        // Hung: stop it before reading its log, which it might still be writing.
        // SAFETY: pausedomain's body holds no guest handles.
        unsafe { xen.domctl(&mut XenDomctl::new(XEN_DOMCTL_PAUSEDOMAIN, id.raw())) }
            .map_err(Fail::xen("pausedomain"))?;
    }
    let (header, text) = domu.collect_log(&layout)?;
    domu.teardown()?;
    xen.destroy_domain(sibling).map_err(Fail::xen("destroydomain (sibling)"))?;
    Ok(Report { domid: id, header, text, shutdown_reason, polls })
}

/// The sibling domU: 1 MiB limit, four pages at gfn 0x100 (what the model side builds too).
fn make_sibling(xen: &Xen<HypercallPage>) -> Result<DomId, Fail> {
    let sib = xen
        .create_domain(DomId(0), &xenmem::domctl::pvh_domu(1, 32))
        .map_err(Fail::xen("createdomain (sibling)"))?;
    xen.set_max_vcpus(sib, 1).map_err(Fail::xen("max_vcpus (sibling)"))?;
    xen.set_max_mem(sib, 1024).map_err(Fail::xen("max_mem (sibling)"))?;
    let mut gfns = [Gfn(0x100), Gfn(0x101), Gfn(0x102), Gfn(0x103)];
    let done = xen
        .populate_physmap(sib, 0, MemFlags::empty(), &mut gfns)
        .map_err(Fail::xen("populate_physmap (sibling)"))?;
    if done != gfns.len() {
        return Err(Fail::value("populate_physmap (sibling): extents done", done as u64));
    }
    Ok(sib)
}

/// Checks that every read-only load segment of `image` is byte for byte what is loaded and
/// running at its address now. (Writable segments may have changed since boot; the domU zeroes
/// .bss itself and gets .data from the file.)
fn check_same_as_running_kernel(image: &Image<'_>) -> Result<(), Fail> {
    extern "C" {
        static __image_start: u8;
        static __image_end: u8;
    }
    let own = core::ptr::addr_of!(__image_start) as u64..core::ptr::addr_of!(__image_end) as u64;
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
    fn build(&mut self, image: &Image<'_>, layout: &Layout, window: Gfn, sibling: DomId) -> Result<(), Fail> {
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

        let w = self.boot.insert(Window::new(layout.first, window, layout.boot_pages));
        w.map(xen, id)?;
        // Pages fresh from Xen are not guaranteed to be zero (a page a live domain gave back
        // is reused unscrubbed), so every page the domU will read gets written in full.
        w.zero_all();
        for s in image.segments() {
            w.write(s.paddr, image.file_bytes(s))?;
        }
        let cmdline_at = layout.start_info + CMDLINE_OFFSET;
        w.write(layout.start_info, &bootinfo::encode(cmdline_at))?;
        let mut line = LineBuf::new();
        // Ends with the NUL the start info's reader looks for.
        let _ = write!(
            line,
            "role=domu domid={} sibling={} log={:#x},{:#x}\0",
            id.raw(),
            sibling.raw(),
            layout.log,
            LOG_PAGES * PAGE
        );
        if line.overflowed {
            return Err(Fail::new("domU command line too long"));
        }
        w.write(cmdline_at, line.as_bytes())?;
        // Unmapped in place, so that on an error the teardown still sees what is left.
        if let Some(w) = self.boot.as_mut() {
            w.unmap(xen)?;
        }
        self.boot = None;

        let at = Gfn(window.raw() + layout.boot_pages);
        let w = self.log.insert(Window::new(Gfn(layout.log / PAGE), at, LOG_PAGES));
        w.map(xen, id)?;
        w.zero_all();
        w.write(layout.log, &log::initial_header())?;

        load_vcpu(xen, id, layout.entry, layout.start_info)
    }

    /// Yields to the domU until it has shut down (`Some(reason)`) or the time is up (`None`).
    fn wait(&self) -> Result<(Option<u32>, u64), Fail> {
        let deadline = Deadline::after_seconds(TIMEOUT_SECONDS);
        for polls in 0..MAX_POLLS {
            let info = self.xen.domain_info(self.id).map_err(Fail::xen("getdomaininfo"))?;
            // getdomaininfo answers with the next domain at or above the id asked.
            if info.domain != self.id.raw() {
                return Err(Fail::new("the domU disappeared"));
            }
            if info.flags & XEN_DOMINF_SHUTDOWN != 0 {
                return Ok((Some((info.flags >> 16) & 0xff), polls));
            }
            if deadline.passed() {
                return Ok((None, polls));
            }
            hv::yield_cpu();
        }
        Ok((None, MAX_POLLS))
    }

    /// Copies the log out of the domU's memory.
    fn collect_log(&self, layout: &Layout) -> Result<(log::Header, &'static [u8]), Fail> {
        let w = self.log.as_ref().ok_or(Fail::new("log not mapped"))?;
        let mut raw = [0u8; log::TEXT];
        w.read(layout.log, &mut raw)?;
        let header = log::Header::decode(&raw);
        let copy = LOG_COPY.take().ok_or(Fail::new("log buffer already used"))?;
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

/// A run of the domU's pages foreign-mapped into a hole of dom0's physmap, which the boot
/// identity map covers (the hole is below 4 GiB).
struct Window {
    /// The domU's first page.
    first: Gfn,
    /// Where it appears in dom0.
    at: Gfn,
    pages: u64,
    /// How many pages from the start are mapped.
    mapped: u64,
}

impl Window {
    fn new(first: Gfn, at: Gfn, pages: u64) -> Window {
        Window { first, at, pages, mapped: 0 }
    }

    fn map(&mut self, xen: &Xen<HypercallPage>, domu: DomId) -> Result<(), Fail> {
        let mut foreign = [Gfn(0); MAP_CHUNK];
        let mut local = [Gfn(0); MAP_CHUNK];
        let mut errs = [EntryStatus::NOT_DONE; MAP_CHUNK];
        while self.mapped < self.pages {
            let n = ((self.pages - self.mapped) as usize).min(MAP_CHUNK);
            for i in 0..n {
                foreign[i] = Gfn(self.first.raw() + self.mapped + i as u64);
                local[i] = Gfn(self.at.raw() + self.mapped + i as u64);
            }
            xen.map_foreign_batch(DomId::SELF, domu, &foreign[..n], &local[..n], &mut errs[..n])
                .map_err(Fail::xen("add_to_physmap_batch(gmfn_foreign)"))?;
            if let Some(bad) = errs[..n].iter().position(|e| !e.is_ok()) {
                // Entries after the failed one may be mapped: undo them, keep the prefix
                // counted in `mapped` for the teardown.
                for (g, _) in local[bad..n].iter().zip(&errs[bad..n]).filter(|(_, e)| e.is_ok()) {
                    let _ = xen.remove_from_physmap(DomId::SELF, *g);
                }
                self.mapped += bad as u64;
                return Err(Fail::value("mapping a domU page failed; errno", (-errs[bad].raw()) as u64));
            }
            self.mapped += n as u64;
        }
        Ok(())
    }

    fn unmap(&mut self, xen: &Xen<HypercallPage>) -> Result<(), Fail> {
        while self.mapped > 0 {
            let g = Gfn(self.at.raw() + self.mapped - 1);
            xen.remove_from_physmap(DomId::SELF, g).map_err(Fail::xen("remove_from_physmap"))?;
            self.mapped -= 1;
        }
        Ok(())
    }

    /// Dom0's address for the domU's bytes `paddr..paddr + len`, if all are mapped.
    fn local(&self, paddr: u64, len: usize) -> Result<usize, Fail> {
        let start = self.first.raw() * PAGE;
        let end = start + self.mapped * PAGE;
        match paddr.checked_add(len as u64) {
            Some(e) if paddr >= start && e <= end => Ok((self.at.raw() * PAGE + (paddr - start)) as usize),
            _ => Err(Fail::value("outside the mapped window", paddr)),
        }
    }

    fn zero_all(&mut self) {
        let at = (self.at.raw() * PAGE) as *mut u8;
        // SAFETY: the `mapped` pages from `at` are the domU's frames mapped into a hole of
        // dom0's physmap below 4 GiB (so the identity map reaches them) where no Rust object
        // lives; the domU is not running yet.
        unsafe { core::ptr::write_bytes(at, 0, (self.mapped * PAGE) as usize) };
    }

    fn write(&mut self, paddr: u64, data: &[u8]) -> Result<(), Fail> {
        let at = self.local(paddr, data.len())?;
        // SAFETY: `local` checked the range is inside the mapped pages (see `zero_all`); `data`
        // is dom0 memory, which cannot overlap a foreign mapping.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), at as *mut u8, data.len()) };
        Ok(())
    }

    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), Fail> {
        let at = self.local(paddr, buf.len())?;
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: inside the mapped pages (`local`); volatile because the domU wrote
            // them behind the compiler's back.
            *b = unsafe { core::ptr::read_volatile((at + i) as *const u8) };
        }
        Ok(())
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
    xenmem::XenError::check(rc)
        .map(drop)
        .map_err(|e| Fail { what: "set_memory_map", detail: Detail::Xen(e.into()) })
}

/// Loads vCPU 0's initial state: Xen's own header record from gethvmcontext (it carries this
/// machine's CPUID and TSC rate, which the load checks), a CPU record for the PVH entry state,
/// and the end record. A never-run vCPU has no CPU record of its own to edit.
fn load_vcpu(xen: &Xen<HypercallPage>, id: DomId, entry: u32, start_info: u64) -> Result<(), Fail> {
    const HEADER_CODE: u16 = 1;
    const HEADER_LEN: usize = 24;
    const DESC: usize = 8;
    let buf = HVM_BUF.take().ok_or(Fail::new("hvm context buffer already used"))?;

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

/// A wall-clock deadline by the TSC, whose rate Xen publishes in CPUID leaf base+3.
struct Deadline {
    end: Option<u64>,
}

impl Deadline {
    fn after_seconds(s: u64) -> Deadline {
        let khz = xenmem::hypercall::x86_64::xen_cpuid_base()
            .map(|base| core::arch::x86_64::__cpuid_count(base + 3, 0).ecx as u64)
            .unwrap_or(0);
        // Without a rate only the poll bound applies.
        let end = (khz != 0).then(|| rdtsc().saturating_add(khz * 1000 * s));
        Deadline { end }
    }

    fn passed(&self) -> bool {
        self.end.is_some_and(|end| rdtsc() >= end)
    }
}

fn rdtsc() -> u64 {
    // SAFETY: rdtsc reads the time-stamp counter; CR4.TSD is clear, so it runs in any ring.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A fixed buffer to format a short line into.
struct LineBuf {
    buf: [u8; 128],
    len: usize,
    overflowed: bool,
}

impl LineBuf {
    fn new() -> LineBuf {
        LineBuf { buf: [0; 128], len: 0, overflowed: false }
    }
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.buf.get_mut(self.len..self.len + s.len()) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len += s.len();
                Ok(())
            }
            None => {
                self.overflowed = true;
                Err(fmt::Error)
            }
        }
    }
}
