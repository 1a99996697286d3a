//! A company's list of trusted networks.

use core::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::cidr::{Cidr, canonical_ip};
use crate::index::{MAX_NETWORKS, RangeIndex};
use crate::space::{AddressSpace, AddressSpaceLimit};

/// The longest [`ActorId`] in bytes.
const MAX_ACTOR_ID_BYTES: usize = 256;
/// The longest entry label in characters.
const MAX_LABEL_CHARS: usize = 200;

/// An opaque identifier of whoever changed an allowlist or a grant (an admin
/// user id, a service name). The crate only stores and compares it.
///
/// Valid ids are 1 to 256 bytes without control characters, so they print
/// safely in audit logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "String", into = "String"))]
pub struct ActorId(String);

impl ActorId {
    /// Wraps an identifier.
    ///
    /// # Errors
    ///
    /// [`EntryError::EmptyActorId`], [`EntryError::ActorIdTooLong`] or
    /// [`EntryError::ActorIdControlCharacter`].
    pub fn new(id: impl Into<String>) -> Result<Self, EntryError> {
        let id = id.into();
        if id.is_empty() {
            return Err(EntryError::EmptyActorId);
        }
        if id.len() > MAX_ACTOR_ID_BYTES {
            return Err(EntryError::ActorIdTooLong {
                max: MAX_ACTOR_ID_BYTES,
            });
        }
        if id.chars().any(char::is_control) {
            return Err(EntryError::ActorIdControlCharacter);
        }
        Ok(Self(id))
    }

    /// The identifier as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ActorId {
    type Error = EntryError;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(id)
    }
}

impl From<ActorId> for String {
    fn from(id: ActorId) -> Self {
        id.0
    }
}

/// Why an [`ActorId`] or a [`NetworkEntry`] cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The actor id was empty.
    #[error("actor id is empty")]
    EmptyActorId,
    /// The actor id was longer than `max` bytes.
    #[error("actor id is longer than {max} bytes")]
    ActorIdTooLong {
        /// The largest length in bytes.
        max: usize,
    },
    /// The actor id contains a control character.
    #[error("actor id contains a control character")]
    ActorIdControlCharacter,
    /// The label was longer than `max` characters.
    #[error("label is longer than {max} characters")]
    LabelTooLong {
        /// The largest length in characters.
        max: usize,
    },
    /// The label contains a control character.
    #[error("label contains a control character")]
    LabelControlCharacter,
}

/// One trusted network of a company: the range, a label for people, who
/// added it and when.
///
/// An entry's identity is its network together with the instant it was
/// added: a grant earned on an entry is honoured only while an entry with the
/// same network *and* the same `added_at` is listed, so removing a network
/// and adding it back does not revive old grants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "EntryRecord", into = "EntryRecord")
)]
pub struct NetworkEntry {
    network: Cidr,
    label: String,
    added_by: ActorId,
    added_at: DateTime<Utc>,
}

impl NetworkEntry {
    /// Makes an entry. The label may be empty; it is at most 200 characters
    /// without control characters, so it displays safely in an admin page.
    ///
    /// # Errors
    ///
    /// [`EntryError::LabelTooLong`] or [`EntryError::LabelControlCharacter`].
    pub fn new(
        network: Cidr,
        label: impl Into<String>,
        added_by: ActorId,
        added_at: DateTime<Utc>,
    ) -> Result<Self, EntryError> {
        let label = label.into();
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err(EntryError::LabelTooLong {
                max: MAX_LABEL_CHARS,
            });
        }
        if label.chars().any(char::is_control) {
            return Err(EntryError::LabelControlCharacter);
        }
        Ok(Self {
            network,
            label,
            added_by,
            added_at,
        })
    }

    /// The trusted range.
    #[must_use]
    pub fn network(&self) -> Cidr {
        self.network
    }

    /// The label shown to administrators.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Who added the entry.
    #[must_use]
    pub fn added_by(&self) -> &ActorId {
        &self.added_by
    }

    /// When the entry was added.
    #[must_use]
    pub fn added_at(&self) -> DateTime<Utc> {
        self.added_at
    }
}

#[cfg(feature = "serde")]
#[derive(serde::Serialize, serde::Deserialize)]
struct EntryRecord {
    network: Cidr,
    label: String,
    added_by: ActorId,
    added_at: DateTime<Utc>,
}

#[cfg(feature = "serde")]
impl TryFrom<EntryRecord> for NetworkEntry {
    type Error = EntryError;

    fn try_from(record: EntryRecord) -> Result<Self, Self::Error> {
        Self::new(
            record.network,
            record.label,
            record.added_by,
            record.added_at,
        )
    }
}

#[cfg(feature = "serde")]
impl From<NetworkEntry> for EntryRecord {
    fn from(entry: NetworkEntry) -> Self {
        Self {
            network: entry.network,
            label: entry.label,
            added_by: entry.added_by,
            added_at: entry.added_at,
        }
    }
}

/// Why an allowlist change was refused. The allowlist is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AllowlistError {
    /// An entry for this network is already listed.
    #[error("network {network} is already listed")]
    Duplicate {
        /// The network listed twice.
        network: Cidr,
    },
    /// The allowlist would hold more than `max` entries.
    #[error("allowlist would hold more than {max} entries")]
    TooManyEntries {
        /// The largest number of entries.
        max: usize,
    },
    /// The allowlist would trust more addresses than its limit allows
    /// (counted over the union of its entries).
    #[error("allowlist would trust more address space than its limit allows")]
    TooMuchAddressSpace {
        /// What it would trust.
        would_trust: AddressSpace,
        /// The limit.
        limit: AddressSpaceLimit,
    },
}

/// A company's trusted networks, IPv4 and IPv6, with a lookup whose cost
/// grows with the logarithm of the number of entries.
///
/// Entries are kept sorted by network and each network is listed at most
/// once. Overlapping entries are allowed (an office `/24` inside a campus
/// `/16`); a lookup returns the most specific entry containing the address.
///
/// # Examples
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use twofa_trusted_network::{ActorId, Allowlist, NetworkEntry};
///
/// let admin = ActorId::new("admin-17")?;
/// let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
/// let mut allowlist = Allowlist::new();
/// allowlist.insert(NetworkEntry::new("198.51.100.0/24".parse()?, "HQ", admin.clone(), at)?)?;
/// allowlist.insert(NetworkEntry::new("198.51.100.64/26".parse()?, "HQ lab", admin, at)?)?;
///
/// let hit = allowlist.lookup("198.51.100.70".parse()?).map(|entry| entry.label());
/// assert_eq!(hit, Some("HQ lab"));
/// assert!(allowlist.lookup("203.0.113.1".parse()?).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: Vec<NetworkEntry>,
    index: RangeIndex,
}

impl Allowlist {
    /// The empty allowlist: no network is trusted.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an allowlist from many entries at once, in O(n log n).
    ///
    /// # Errors
    ///
    /// [`AllowlistError::Duplicate`] if two entries have the same network,
    /// [`AllowlistError::TooManyEntries`] beyond 1,000,000 entries.
    pub fn from_entries(
        entries: impl IntoIterator<Item = NetworkEntry>,
    ) -> Result<Self, AllowlistError> {
        let mut entries: Vec<NetworkEntry> = entries.into_iter().collect();
        if entries.len() > MAX_NETWORKS {
            return Err(AllowlistError::TooManyEntries { max: MAX_NETWORKS });
        }
        entries.sort_by_key(|entry| entry.network);
        let duplicate = entries.windows(2).find_map(|pair| match pair {
            [a, b] if a.network == b.network => Some(a.network),
            _ => None,
        });
        if let Some(network) = duplicate {
            return Err(AllowlistError::Duplicate { network });
        }
        let index = RangeIndex::build(entries.iter().map(|entry| &entry.network));
        Ok(Self { entries, index })
    }

    /// Adds an entry.
    ///
    /// # Errors
    ///
    /// [`AllowlistError::Duplicate`] if the network is already listed (the
    /// existing entry is kept), [`AllowlistError::TooManyEntries`] if the list
    /// is full.
    pub fn insert(&mut self, entry: NetworkEntry) -> Result<(), AllowlistError> {
        let slot = match self
            .entries
            .binary_search_by_key(&entry.network, |listed| listed.network)
        {
            Ok(_) => {
                return Err(AllowlistError::Duplicate {
                    network: entry.network,
                });
            }
            Err(slot) => slot,
        };
        if self.entries.len() >= MAX_NETWORKS {
            return Err(AllowlistError::TooManyEntries { max: MAX_NETWORKS });
        }
        self.entries.insert(slot, entry);
        self.reindex();
        Ok(())
    }

    /// [`Allowlist::insert`], refused with
    /// [`AllowlistError::TooMuchAddressSpace`] when the allowlist would then
    /// trust more addresses than `limit` (each address counted once, so a
    /// range split into parts counts as the whole).
    ///
    /// # Errors
    ///
    /// As [`Allowlist::insert`], and [`AllowlistError::TooMuchAddressSpace`].
    pub fn insert_within(
        &mut self,
        entry: NetworkEntry,
        limit: AddressSpaceLimit,
    ) -> Result<(), AllowlistError> {
        let would_trust = AddressSpace::of(
            self.entries
                .iter()
                .map(|listed| listed.network)
                .chain([entry.network]),
        );
        if !limit.allows(would_trust) {
            return Err(AllowlistError::TooMuchAddressSpace { would_trust, limit });
        }
        self.insert(entry)
    }

    /// The addresses the allowlist trusts, each counted once.
    #[must_use]
    pub fn address_space(&self) -> AddressSpace {
        AddressSpace::of(self.entries.iter().map(|listed| listed.network))
    }

    /// Removes the entry for `network` and returns it, or `None` if the
    /// network was not listed.
    ///
    /// # Security
    ///
    /// Grants earned on the removed entry stop being honoured at once (the
    /// decision checks that their entry is still listed); record the
    /// revocation with [`RevocationReason::NetworkRemoved`](crate::RevocationReason::NetworkRemoved)
    /// for the audit trail as well.
    pub fn remove(&mut self, network: Cidr) -> Option<NetworkEntry> {
        let slot = self
            .entries
            .binary_search_by_key(&network, |listed| listed.network)
            .ok()?;
        let removed = self.entries.remove(slot);
        self.reindex();
        Some(removed)
    }

    /// The most specific entry containing `ip`, if any. IPv4-mapped IPv6
    /// addresses (`::ffff:a.b.c.d`) are looked up as IPv4; IPv4-compatible
    /// (`::a.b.c.d`) and all other IPv6 addresses only match IPv6 entries.
    #[must_use]
    pub fn lookup(&self, ip: IpAddr) -> Option<&NetworkEntry> {
        let position = self.index.lookup(canonical_ip(ip))?;
        self.entries.get(position)
    }

    /// The entry listed for exactly `network`, if any.
    #[must_use]
    pub fn entry(&self, network: Cidr) -> Option<&NetworkEntry> {
        self.entries
            .binary_search_by_key(&network, |listed| listed.network)
            .ok()
            .and_then(|slot| self.entries.get(slot))
    }

    /// All entries, sorted by network.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &NetworkEntry> {
        self.entries.iter()
    }

    /// The number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no network is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn reindex(&mut self) {
        self.index = RangeIndex::build(self.entries.iter().map(|entry| &entry.network));
    }
}

/// Serialized as the sequence of entries; deserializing refuses duplicates.
#[cfg(feature = "serde")]
impl serde::Serialize for Allowlist {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.entries)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Allowlist {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<NetworkEntry>::deserialize(deserializer)?;
        Self::from_entries(entries).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    fn entry(text: &str, label: &str) -> NetworkEntry {
        NetworkEntry::new(
            text.parse().unwrap(),
            label,
            ActorId::new("admin").unwrap(),
            at(),
        )
        .unwrap()
    }

    #[test]
    fn actor_id_rules() {
        assert_eq!(ActorId::new(""), Err(EntryError::EmptyActorId));
        assert!(ActorId::new("a".repeat(256)).is_ok());
        assert_eq!(
            ActorId::new("a".repeat(257)),
            Err(EntryError::ActorIdTooLong { max: 256 })
        );
        assert_eq!(
            ActorId::new("ad\nmin"),
            Err(EntryError::ActorIdControlCharacter)
        );
        assert_eq!(ActorId::new("admin-1").unwrap().as_str(), "admin-1");
    }

    #[test]
    fn label_rules() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        let admin = ActorId::new("admin").unwrap();
        assert!(NetworkEntry::new(net, "", admin.clone(), at()).is_ok());
        assert!(NetworkEntry::new(net, "é".repeat(200), admin.clone(), at()).is_ok());
        assert_eq!(
            NetworkEntry::new(net, "é".repeat(201), admin.clone(), at()),
            Err(EntryError::LabelTooLong { max: 200 })
        );
        assert_eq!(
            NetworkEntry::new(net, "HQ\u{1b}[31m", admin, at()),
            Err(EntryError::LabelControlCharacter)
        );
    }

    #[test]
    fn duplicates_are_refused_and_the_list_is_unchanged() {
        let mut list = Allowlist::new();
        list.insert(entry("10.0.0.0/8", "first")).unwrap();
        let before = list.clone();
        assert_eq!(
            list.insert(entry("10.0.0.0/8", "second")),
            Err(AllowlistError::Duplicate {
                network: "10.0.0.0/8".parse().unwrap()
            })
        );
        assert_eq!(list, before);
        assert_eq!(
            Allowlist::from_entries([entry("10.0.0.0/8", "a"), entry("10.0.0.0/8", "b")]),
            Err(AllowlistError::Duplicate {
                network: "10.0.0.0/8".parse().unwrap()
            })
        );
    }

    #[test]
    fn insert_and_from_entries_agree() {
        let texts = ["2001:db8::/32", "10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24"];
        let mut one_by_one = Allowlist::new();
        for text in texts {
            one_by_one.insert(entry(text, text)).unwrap();
        }
        let at_once = Allowlist::from_entries(texts.map(|text| entry(text, text))).unwrap();
        assert_eq!(one_by_one, at_once);
        let order: Vec<String> = at_once.entries().map(|e| e.network().to_string()).collect();
        assert_eq!(
            order,
            ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24", "2001:db8::/32"]
        );
    }

    #[test]
    fn remove_updates_lookup() {
        let mut list =
            Allowlist::from_entries([entry("10.0.0.0/8", "wide"), entry("10.1.0.0/16", "narrow")])
                .unwrap();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(list.lookup(ip).map(NetworkEntry::label), Some("narrow"));
        let removed = list.remove("10.1.0.0/16".parse().unwrap()).unwrap();
        assert_eq!(removed.label(), "narrow");
        assert_eq!(list.lookup(ip).map(NetworkEntry::label), Some("wide"));
        assert!(list.remove("10.1.0.0/16".parse().unwrap()).is_none());
        list.remove("10.0.0.0/8".parse().unwrap()).unwrap();
        assert!(list.lookup(ip).is_none());
        assert!(list.is_empty());
    }
}
