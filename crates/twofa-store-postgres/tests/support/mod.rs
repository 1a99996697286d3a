//! Shared by the tests and the bench.

pub(crate) mod cluster;
