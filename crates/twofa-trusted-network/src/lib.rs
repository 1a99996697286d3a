#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod allowlist;
mod cidr;
mod client;
mod decision;
mod index;
mod space;

pub use allowlist::{ActorId, Allowlist, AllowlistError, EntryError, NetworkEntry};
pub use cidr::{Cidr, CidrError, canonical_ip};
pub use client::{AddressSource, ClientAddress, ForwardingHeaders, ResolveError, TrustedProxies};
pub use decision::{
    Decision, GrantError, LoginFacts, NoGrant, PromptReason, RevocationReason, RevokeError,
    RevokedGrant, TrustGrant, TrustGrantRecord, TrustPolicy, TrustPolicyError, eligibility,
};
pub use space::{AddressSpace, AddressSpaceLimit};
