//! Benchmarks of the twofa crates against peer crates; run them with
//! `cargo bench -p twofa-benches`. The library itself is empty: the benches
//! live in `benches/`.

#![forbid(unsafe_code)]
