//! Second-factor methods and the channels that carry one-time codes, and
//! small copyable sets of them.

use core::fmt;

/// A second-factor method a user can enroll with.
///
/// Email is not among them: it only carries re-sent codes of a phone
/// method (see [`CodeChannel`]). The set grows (`#[non_exhaustive]`): match
/// with a wildcard arm that refuses what it does not know.
///
/// Only [`Method::Passkey`] is phishing-resistant (NIST SP 800-63B-4
/// §3.2.5): a code or a push approval can be relayed by a look-alike site,
/// a WebAuthn signature names the origin it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Method {
    /// Any RFC 6238 authenticator app, set up by scanning a QR code.
    AuthenticatorApp,
    /// A push/token app: approve or deny a push, or type its token.
    PushApp,
    /// A one-time code sent by text message.
    Sms,
    /// A one-time code read out by an automated phone call.
    VoiceCall,
    /// A WebAuthn credential (a passkey or a security key): the browser
    /// signs a challenge for the site's origin.
    Passkey,
}

impl Method {
    /// Every method, in the order used by sets and exports.
    pub const ALL: [Self; 5] = [
        Self::AuthenticatorApp,
        Self::PushApp,
        Self::Sms,
        Self::VoiceCall,
        Self::Passkey,
    ];

    /// Stable name used in exports and records (`authenticator_app`,
    /// `push_app`, `sms`, `voice_call`, `passkey`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthenticatorApp => "authenticator_app",
            Self::PushApp => "push_app",
            Self::Sms => "sms",
            Self::VoiceCall => "voice_call",
            Self::Passkey => "passkey",
        }
    }

    /// Whether the method resists phishing: its proof is bound to the
    /// site's origin, so a look-alike site cannot relay it (only
    /// [`Method::Passkey`]).
    #[must_use]
    pub const fn is_phishing_resistant(self) -> bool {
        matches!(self, Self::Passkey)
    }

    /// The channel that carries this method's codes: `Some` for the phone
    /// methods, `None` for the apps (the device shows the code) and for
    /// passkeys (no code at all).
    #[must_use]
    pub const fn code_channel(self) -> Option<CodeChannel> {
        match self {
            Self::Sms => Some(CodeChannel::Sms),
            Self::VoiceCall => Some(CodeChannel::VoiceCall),
            Self::AuthenticatorApp | Self::PushApp | Self::Passkey => None,
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::AuthenticatorApp => 1,
            Self::PushApp => 1 << 1,
            Self::Sms => 1 << 2,
            Self::VoiceCall => 1 << 3,
            Self::Passkey => 1 << 4,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel that carries a one-time code to the user: the channel of a
/// phone method, or one through which a code may be sent again.
///
/// An authenticator or push app needs none: the device shows a new code.
/// Under NIST SP 800-63B-4 SMS and voice are restricted authenticators and
/// email is no out-of-band authenticator at all; the portal offers email
/// only to re-send a phone method's code. These three are the whole set,
/// so matches on it need no wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum CodeChannel {
    /// A text message.
    Sms,
    /// An automated phone call reading the code out.
    VoiceCall,
    /// An e-mail.
    Email,
}

impl CodeChannel {
    /// Every channel, in the order used by sets and exports.
    pub const ALL: [Self; 3] = [Self::Sms, Self::VoiceCall, Self::Email];

    /// Stable name used in exports and records (`sms`, `voice_call`, `email`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::VoiceCall => "voice_call",
            Self::Email => "email",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Sms => 1,
            Self::VoiceCall => 1 << 1,
            Self::Email => 1 << 2,
        }
    }
}

impl fmt::Display for CodeChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A way of reaching the user: a channel that carries codes, or a push to a
/// paired app. The set of channels an integrator switches on is a
/// [`ChannelSet`].
///
/// NIST SP 800-63B-4 treats out-of-band authentication over the public
/// telephone network (SMS and voice) as a *restricted* authenticator
/// (§3.1.3.3) and does not accept email for out-of-band authentication
/// (§3.1.3.1); leave those out of the set to follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum Channel {
    /// A text message.
    Sms,
    /// An automated phone call.
    VoiceCall,
    /// An e-mail.
    Email,
    /// A push notification to a paired app.
    Push,
}

impl Channel {
    /// Every channel, in the order used by sets and exports.
    pub const ALL: [Self; 4] = [Self::Sms, Self::VoiceCall, Self::Email, Self::Push];

    /// Stable name used in exports and records (`sms`, `voice_call`,
    /// `email`, `push`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::VoiceCall => "voice_call",
            Self::Email => "email",
            Self::Push => "push",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::Sms => 1,
            Self::VoiceCall => 1 << 1,
            Self::Email => 1 << 2,
            Self::Push => 1 << 3,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every code channel is a channel.
impl From<CodeChannel> for Channel {
    fn from(channel: CodeChannel) -> Self {
        match channel {
            CodeChannel::Sms => Self::Sms,
            CodeChannel::VoiceCall => Self::VoiceCall,
            CodeChannel::Email => Self::Email,
        }
    }
}

// Both sets are a byte of flags: they are `Copy`, allocate nothing and compare
// in one instruction, which keeps the gate and a 100,000-row report cheap.
macro_rules! flag_set {
    ($(#[$meta:meta])* $set:ident of $item:ident, $plural:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $set(u8);

        impl $set {
            /// The empty set.
            #[must_use]
            pub const fn empty() -> Self {
                Self(0)
            }

            /// The set holding every variant.
            #[must_use]
            pub const fn all() -> Self {
                let mut bits = 0;
                let mut rest: &[$item] = &$item::ALL;
                while let [first, tail @ ..] = rest {
                    bits |= first.bit();
                    rest = tail;
                }
                Self(bits)
            }

            /// The set holding exactly `items`.
            #[must_use]
            pub fn of(items: &[$item]) -> Self {
                items.iter().copied().collect()
            }

            /// This set with `item` added.
            #[must_use]
            pub const fn with(self, item: $item) -> Self {
                Self(self.0 | item.bit())
            }

            /// This set with `item` removed.
            #[must_use]
            pub const fn without(self, item: $item) -> Self {
                Self(self.0 & !item.bit())
            }

            /// Whether `item` is in the set.
            #[must_use]
            pub const fn contains(self, item: $item) -> bool {
                self.0 & item.bit() != 0
            }

            /// Whether the set is empty.
            #[must_use]
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// How many items the set holds.
            #[must_use]
            pub const fn len(self) -> usize {
                self.0.count_ones() as usize
            }

            /// The items held by both sets.
            #[must_use]
            pub const fn intersection(self, other: Self) -> Self {
                Self(self.0 & other.0)
            }

            /// The items, in the order of `ALL`.
            pub fn iter(self) -> impl Iterator<Item = $item> {
                $item::ALL.into_iter().filter(move |item| self.contains(*item))
            }
        }

        impl FromIterator<$item> for $set {
            fn from_iter<I: IntoIterator<Item = $item>>(iter: I) -> Self {
                iter.into_iter().fold(Self::empty(), Self::with)
            }
        }

        impl fmt::Debug for $set {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_set().entries(self.iter()).finish()
            }
        }

        /// The stable names joined by `;` (for example `sms;voice_call`); the
        /// empty set prints as nothing.
        impl fmt::Display for $set {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for (i, item) in self.iter().enumerate() {
                    if i > 0 {
                        f.write_str(";")?;
                    }
                    f.write_str(item.as_str())?;
                }
                Ok(())
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $set {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.iter())
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $set {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;

                impl<'de> serde::de::Visitor<'de> for Visitor {
                    type Value = $set;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a list of ", $plural))
                    }

                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<$set, A::Error> {
                        let mut set = $set::empty();
                        while let Some(item) = seq.next_element::<$item>()? {
                            set = set.with(item);
                        }
                        Ok(set)
                    }
                }

                deserializer.deserialize_seq(Visitor)
            }
        }
    };
}

flag_set!(
    /// A set of [`Method`]s: the methods a company allows, or the active
    /// methods of a user.
    MethodSet of Method, "methods"
);

flag_set!(
    /// A set of [`Channel`]s, such as the channels an integrator switches on.
    ChannelSet of Channel, "channels"
);

flag_set!(
    /// A set of [`CodeChannel`]s, such as the channels a company allows for
    /// re-sending codes.
    CodeChannelSet of CodeChannel, "code channels"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let set = MethodSet::of(&[Method::Sms, Method::AuthenticatorApp]);
        assert_eq!(set.len(), 2);
        assert!(set.contains(Method::Sms));
        assert!(!set.contains(Method::VoiceCall));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Method::AuthenticatorApp, Method::Sms]
        );
        assert_eq!(
            set.without(Method::Sms),
            MethodSet::of(&[Method::AuthenticatorApp])
        );
        assert!(MethodSet::empty().is_empty());
        assert_eq!(MethodSet::all().len(), Method::ALL.len());
        assert_eq!(CodeChannelSet::all().len(), CodeChannel::ALL.len());
        assert_eq!(
            set.intersection(MethodSet::of(&[Method::Sms, Method::VoiceCall])),
            MethodSet::of(&[Method::Sms])
        );
    }

    #[test]
    fn display_and_debug() {
        let set = MethodSet::of(&[Method::VoiceCall, Method::Sms]);
        assert_eq!(set.to_string(), "sms;voice_call");
        assert_eq!(format!("{set:?}"), "{Sms, VoiceCall}");
        assert_eq!(MethodSet::empty().to_string(), "");
        assert_eq!(
            CodeChannelSet::of(&[CodeChannel::Email]).to_string(),
            "email"
        );
    }
}
