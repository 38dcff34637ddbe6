//! The embedded model acting as a dom0.

use super::*;

/// The embedded model acting as a dom0: a PVH dom0 with 16 MiB on a 512 MiB machine, or the
/// machine a scenario file builds (its steps run first, quietly).
pub struct ModelAdmin {
    sim: Sim,
    xen: Xen<SimBackend>,
    /// A free stretch of dom0's physmap for mapping frames to look at.
    scratch: Gfn,
}

impl ModelAdmin {
    /// The default machine, or the one `scenario` builds, running release `xen` (default:
    /// the scenario's, else the newest the model knows).
    ///
    /// # Errors
    ///
    /// The scenario's own input errors; a scenario without a domain 0.
    pub fn new(scenario: Option<&Path>, xen: Option<Release>) -> Result<ModelAdmin, Failure> {
        let sim = match scenario {
            None => {
                let sim = Sim::new(MachineConfig::x86_64(0x2_0000).with_xen(xen.unwrap_or(Release::NEWEST)));
                let dom0 = sim
                    .create_domain(DomainConfig::dom0(DomainKind::Pvh))
                    .map_err(|e| Failure::Input(e.to_string()))?;
                sim.populate_ram(dom0, Gfn(0), 4096).map_err(|e| Failure::Input(e.to_string()))?;
                sim
            }
            Some(p) => {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|e| InputError::file(&name, e.to_string()))?;
                let mut s = crate::scenario::parse(&name, &text)?;
                if xen.is_some() {
                    s.machine.xen = xen;
                }
                if !s.domains.iter().any(|d| d.id == 0) {
                    return Err(
                        InputError::file(&name, "the dom0 subcommands act as domain 0: declare one").into()
                    );
                }
                let sim = crate::exec::build(&s)?;
                crate::exec::run(&s, &sim, false);
                sim
            }
        };
        let top = sim.physmap(DomId(0)).iter().map(|r| r.first_gfn.0 + r.count).max().unwrap_or(0);
        let scratch = Gfn((top + 0x1000) & !0xfff);
        Ok(ModelAdmin { xen: Xen::new(sim.backend(DomId(0))), sim, scratch })
    }

    fn translated(&self) -> bool {
        self.sim.domain_info(DomId(0)).is_some_and(|i| i.translated)
    }

    /// Maps `d`'s frame at the scratch GFN through the library's foreign batch.
    fn map_foreign(&self, d: DomId, gfn: Gfn) -> Result<(), FrameError> {
        let mut errs = [EntryStatus::NOT_DONE];
        let call = || format!("add_to_physmap_batch(SELF, gmfn_foreign, {d}, [{:#x}])", gfn.0);
        self.xen
            .map_foreign_batch(DomId::SELF, d, &[gfn], &[self.scratch], &mut errs)
            .map_err(|e| FrameError { call: call(), errno: Some(XenError::from_errno(e.errno())) })?;
        match errs[0].result() {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(FrameError { call: call(), errno: Some(e) }),
            None => Err(FrameError { call: call() + " (entry not reached)", errno: None }),
        }
    }

    /// Runs `access` on `d`'s frame `gfn` as dom0 reaches it: mapped at the scratch GFN
    /// through the library's foreign batch, or, for a PV dom0 (which maps foreign frames
    /// through its kernel's page tables), the model's stand-in: the frame where its owner maps it.
    fn with_frame<E: std::fmt::Display>(
        &self,
        d: DomId,
        gfn: Gfn,
        what: &str,
        access: impl FnOnce(&Sim, DomId, Gfn) -> Result<(), E>,
    ) -> Result<(), FrameError> {
        if !self.translated() {
            return access(&self.sim, d, gfn).map_err(|e| FrameError {
                call: format!("model {what} of {d} gfn {:#x}: {e}", gfn.0),
                errno: Some(XenError::Inval),
            });
        }
        self.map_foreign(d, gfn)?;
        let r = access(&self.sim, DomId(0), self.scratch);
        self.unmap(1);
        r.map_err(|e| FrameError { call: e.to_string(), errno: None })
    }

    fn unmap(&self, count: u64) {
        for i in 0..count {
            let _ = self.xen.remove_from_physmap(DomId::SELF, Gfn(self.scratch.0 + i));
        }
    }
}

impl Admin for ModelAdmin {
    type Hv = SimBackend;

    fn xen(&self) -> &Xen<SimBackend> {
        &self.xen
    }

    fn read_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, buf: &mut [u8]) -> Result<(), FrameError> {
        self.with_frame(d, gfn, "read", |sim, owner, at| sim.read_gfn(owner, at, offset, buf))
    }

    fn write_frame(&mut self, d: DomId, gfn: Gfn, offset: usize, data: &[u8]) -> Result<(), FrameError> {
        self.with_frame(d, gfn, "write", |sim, owner, at| sim.write_gfn(owner, at, offset, data))
    }

    fn resource_frames(&mut self, d: DomId, r: Frames) -> Result<Vec<u8>, FrameError> {
        let Frames { ty, id, frame, count } = r;
        if !self.translated() {
            return Err(FrameError {
                call: "the model cannot show frames a PV dom0 acquires (they come back as machine frames)"
                    .into(),
                errno: None,
            });
        }
        let mut list: Vec<Gfn> = (0..u64::from(count)).map(|i| Gfn(self.scratch.0 + i)).collect();
        self.xen.acquire_resource(d, ty, id, u64::from(frame), &mut list).map_err(|e| FrameError {
            call: format!("acquire_resource({d}, {}, id {id}, frame {frame}, {count} frames)", type_name(ty)),
            errno: Some(XenError::from_errno(e.errno())),
        })?;
        let mut bytes = vec![0; count as usize * 4096];
        let mut r = Ok(());
        for (i, page) in bytes.chunks_mut(4096).enumerate() {
            if let Err(e) = self.sim.read_gfn(DomId(0), list[i], 0, page) {
                r = Err(FrameError { call: e.to_string(), errno: None });
                break;
            }
        }
        self.unmap(u64::from(count));
        r.map(|()| bytes)
    }
}
