//! Where the service draws its randomness.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng, TryRng};

/// The operating system's random generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("random generator unavailable")]
#[non_exhaustive]
pub struct RandomUnavailable;

/// A source of seeds for the service's cryptographic random generator.
///
/// The service fills a 32-byte seed from it at the start of each operation
/// that needs randomness (codes, ids, secrets) and expands it with a
/// ChaCha-based generator for that operation only.
pub trait RandomSource: Send + Sync + std::fmt::Debug {
    /// Fills `seed` with random bytes.
    ///
    /// # Errors
    ///
    /// [`RandomUnavailable`] when no randomness can be had; the operation
    /// then fails closed.
    fn fill_seed(&self, seed: &mut [u8; 32]) -> Result<(), RandomUnavailable>;
}

/// The operating system's generator (`getrandom`). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill_seed(&self, seed: &mut [u8; 32]) -> Result<(), RandomUnavailable> {
        rand::rngs::SysRng
            .try_fill_bytes(seed)
            .map_err(|_| RandomUnavailable)
    }
}

/// A deterministic source from a fixed seed: for tests and the scripted
/// demo, where the same run must draw the same codes and secrets.
///
/// # Security
///
/// Never use it in production: anyone who knows the seed knows every code.
#[derive(Debug)]
pub struct SeededRandom {
    rng: Mutex<StdRng>,
}

impl SeededRandom {
    /// A source that always yields the same sequence for `seed`.
    #[must_use]
    pub fn new(seed: [u8; 32]) -> Self {
        Self {
            rng: Mutex::new(StdRng::from_seed(seed)),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill_seed(&self, seed: &mut [u8; 32]) -> Result<(), RandomUnavailable> {
        let mut rng = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        rng.fill_bytes(seed);
        Ok(())
    }
}

/// A per-operation generator seeded from `source`.
pub(crate) fn operation_rng(source: &dyn RandomSource) -> Result<StdRng, RandomUnavailable> {
    let mut seed = [0u8; 32];
    source.fill_seed(&mut seed)?;
    let rng = StdRng::from_seed(seed);
    seed.fill(0);
    Ok(rng)
}
