//! [`FaultInjector`]: a wrapper around any [`xenmem::Hypercall`] backend (the model, real
//! Xen, a recorder) that makes chosen hypercalls fail, in the manner of smoltcp's
//! `phy::FaultInjector`.
//!
//! Rules say which calls to hit (a hypercall number, a memory_op sub-op, after letting some
//! through, how many times, with what probability) and what happens: the call is not made and
//! returns `-errno` or a chosen value, or, for the reservation sub-ops (increase, decrease,
//! populate), the call *is* made for only the first `n` extents, so the backend's state agrees
//! with the short count the caller sees. Probabilities draw from a seeded generator: the same
//! seed and calls give the same faults.
//!
//! This module holds the policy; the `Hypercall` implementation, which has to read the
//! reservation struct through the caller's pointer, is in the one unsafe module.

use std::sync::{Mutex, MutexGuard};
use xenmem::XenError;

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The call is not made; it returns `-errno`.
    Errno(XenError),
    /// The call is not made; it returns this value.
    Return(i64),
    /// Reservation sub-ops: the call is made for at most this many extents (from its start
    /// index), as if Xen had stopped there. Other calls are not made and return the value.
    PartialCount(u64),
}

/// Which calls a rule hits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaultRule {
    /// Hypercall number (`None`: any).
    pub hypercall: Option<u32>,
    /// memory_op sub-op (`cmd & 63`; `None`: any). Implies hypercall 12.
    pub memory_op: Option<u32>,
    /// Matching calls to let through before the first fault.
    pub after: u64,
    /// Faults to inject (`None`: no limit).
    pub times: Option<u64>,
    /// Chance that a matching call is hit (1.0: every one).
    pub probability: f64,
    /// What happens.
    pub outcome: Outcome,
}

impl FaultRule {
    /// The next `n` hypercalls of any kind fail with `errno`.
    pub fn next(n: u64, errno: XenError) -> FaultRule {
        FaultRule {
            hypercall: None,
            memory_op: None,
            after: 0,
            times: Some(n),
            probability: 1.0,
            outcome: Outcome::Errno(errno),
        }
    }

    /// Every memory_op `sub_op` gets `outcome`.
    pub fn memory_op(sub_op: u32, outcome: Outcome) -> FaultRule {
        FaultRule {
            hypercall: Some(xenmem::abi::HYPERVISOR_MEMORY_OP),
            memory_op: Some(sub_op),
            after: 0,
            times: None,
            probability: 1.0,
            outcome,
        }
    }

    /// The same rule, hitting only `n` calls.
    pub fn times(mut self, n: u64) -> FaultRule {
        self.times = Some(n);
        self
    }

    /// The same rule, letting the first `n` matching calls through.
    pub fn after(mut self, n: u64) -> FaultRule {
        self.after = n;
        self
    }

    /// The same rule, hitting a matching call with probability `p`.
    pub fn with_probability(mut self, p: f64) -> FaultRule {
        self.probability = p;
        self
    }

    fn matches(&self, op: u32, args: &[u64; 5]) -> bool {
        let sub = (op == xenmem::abi::HYPERVISOR_MEMORY_OP)
            .then_some((args[0] & xenmem::abi::MEMOP_CMD_MASK) as u32);
        self.hypercall.is_none_or(|h| h == op) && self.memory_op.is_none_or(|s| sub == Some(s))
    }
}

struct Rule {
    rule: FaultRule,
    seen: u64,
    fired: u64,
}

struct State {
    rules: Vec<Rule>,
    rng: u64,
    calls: u64,
    injected: u64,
}

/// What the wrapper does with one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    Pass,
    Return(i64),
    Truncate(u64),
}

/// A backend wrapper that injects faults. `Send + Sync` when the backend is.
pub struct FaultInjector<H> {
    pub(crate) inner: H,
    state: Mutex<State>,
}

impl<H> core::fmt::Debug for FaultInjector<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.lock();
        f.debug_struct("FaultInjector").field("rules", &s.rules.len()).field("injected", &s.injected).finish()
    }
}

impl<H> FaultInjector<H> {
    /// Wraps `inner`; `seed` drives the probabilities.
    pub fn new(inner: H, seed: u64) -> FaultInjector<H> {
        // xorshift needs a non-zero state.
        let rng = seed ^ 0x9E37_79B9_7F4A_7C15;
        FaultInjector {
            inner,
            state: Mutex::new(State { rules: Vec::new(), rng: rng.max(1), calls: 0, injected: 0 }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a rule (rules are tried in the order added; the first that fires wins).
    pub fn add_rule(&self, rule: FaultRule) {
        self.lock().rules.push(Rule { rule, seen: 0, fired: 0 });
    }

    /// The next `n` hypercalls fail with `errno`.
    pub fn fail_next(&self, n: u64, errno: XenError) {
        self.add_rule(FaultRule::next(n, errno));
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Hypercalls seen.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// Faults injected.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// The wrapped backend.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> H {
        self.inner
    }

    /// Decides the fate of one call (counts it, advances the generator).
    pub(crate) fn decide(&self, op: u32, args: &[u64; 5]) -> Decision {
        let mut s = self.lock();
        s.calls += 1;
        let State { rules, rng, injected, .. } = &mut *s;
        for r in rules.iter_mut() {
            if !r.rule.matches(op, args) || r.rule.times.is_some_and(|t| r.fired >= t) {
                continue;
            }
            r.seen += 1;
            if r.seen <= r.rule.after {
                continue;
            }
            if r.rule.probability < 1.0 {
                // xorshift64*.
                *rng ^= *rng >> 12;
                *rng ^= *rng << 25;
                *rng ^= *rng >> 27;
                let x = rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
                if (x as f64) / ((1u64 << 53) as f64) >= r.rule.probability {
                    continue;
                }
            }
            r.fired += 1;
            *injected += 1;
            let reservation = op == xenmem::abi::HYPERVISOR_MEMORY_OP
                && matches!(
                    (args[0] & xenmem::abi::MEMOP_CMD_MASK) as u32,
                    xenmem::abi::XENMEM_INCREASE_RESERVATION
                        | xenmem::abi::XENMEM_DECREASE_RESERVATION
                        | xenmem::abi::XENMEM_POPULATE_PHYSMAP
                );
            return match r.rule.outcome {
                Outcome::Errno(e) => Decision::Return(-(e.errno() as i64)),
                Outcome::Return(v) => Decision::Return(v),
                Outcome::PartialCount(n) if reservation => Decision::Truncate(n),
                Outcome::PartialCount(n) => Decision::Return(n as i64),
            };
        }
        Decision::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_and_seed() {
        let f = FaultInjector::new((), 7);
        f.add_rule(FaultRule::memory_op(6, Outcome::Errno(XenError::NoMem)).after(1).times(2));
        let pop = [6u64, 0, 0, 0, 0];
        let other = [3u64, 0, 0, 0, 0];
        assert_eq!(f.decide(12, &other), Decision::Pass);
        assert_eq!(f.decide(12, &pop), Decision::Pass);
        assert_eq!(f.decide(12, &pop), Decision::Return(-12));
        assert_eq!(f.decide(12, &pop), Decision::Return(-12));
        assert_eq!(f.decide(12, &pop), Decision::Pass);
        assert_eq!((f.calls(), f.injected()), (5, 2));

        let run = |seed| {
            let f = FaultInjector::new((), seed);
            f.add_rule(FaultRule::next(u64::MAX, XenError::Again).with_probability(0.5));
            (0..64).map(|_| f.decide(17, &[0; 5]) == Decision::Pass).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        assert!(run(3).iter().any(|&p| p) && run(3).iter().any(|&p| !p));
    }

    #[test]
    fn partial_count_truncates_reservations_only() {
        let f = FaultInjector::new((), 0);
        f.add_rule(FaultRule { hypercall: None, ..FaultRule::memory_op(0, Outcome::PartialCount(3)) });
        f.add_rule(FaultRule::memory_op(28, Outcome::PartialCount(3)));
        assert_eq!(f.decide(12, &[0, 0, 0, 0, 0]), Decision::Truncate(3));
        assert_eq!(f.decide(12, &[28, 0, 0, 0, 0]), Decision::Return(3));
    }
}
