//! Prefixed identifiers (`sesn_…`, `memstore_…`, …) and the generators that mint them.
//!
//! An id is a prefix, an underscore, and 26 characters of lowercase Crockford
//! base32: 48 bits of milliseconds since the Unix epoch followed by 80 random bits
//! (the ULID layout), so ids sort by creation time. The prefixes follow Anthropic's
//! Managed Agents API (`sesn_`, `memstore_`, `mem_`, `memver_`, `drm_`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::RngCore;
use serde::{Deserialize, Deserializer, Serializer};

use crate::{TypesError, TypesResult};

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BODY_LEN: usize = 26;

/// An identifier with a fixed type prefix.
pub trait PrefixedId: Sized + fmt::Display {
    /// The prefix, without the underscore (`"sesn"`).
    const PREFIX: &'static str;
    /// What the id names, for error messages (`"session"`).
    const KIND: &'static str;

    /// Wraps `value` without checking it; use [`PrefixedId::parse`] for untrusted text.
    fn from_string_unchecked(value: String) -> Self;

    /// Returns the id as text.
    fn as_str(&self) -> &str;

    /// Parses `text`, which must be `PREFIX_` followed by 1–64 ASCII letters, digits, `-` or `_`.
    ///
    /// # Errors
    /// [`TypesError::InvalidId`] when the prefix or the characters are wrong.
    fn parse(text: &str) -> TypesResult<Self> {
        let body = text
            .strip_prefix(Self::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'));
        match body {
            Some(body)
                if !body.is_empty()
                    && body.len() <= 64
                    && body
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Ok(Self::from_string_unchecked(text.to_owned()))
            }
            _ => Err(TypesError::InvalidId {
                kind: Self::KIND,
                prefix: Self::PREFIX,
                value: text.to_owned(),
            }),
        }
    }
}

/// Declares a newtype id with a prefix; serde reads and writes it as a string.
#[macro_export]
macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $crate::id::PrefixedId for $name {
            const PREFIX: &'static str = $prefix;
            const KIND: &'static str = $kind;
            fn from_string_unchecked(value: String) -> Self {
                Self(value)
            }
            fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl $name {
            /// Returns the id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::TypesError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                <Self as $crate::id::PrefixedId>::parse(text)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <Self as $crate::id::PrefixedId>::parse(&text).map_err(::serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// Identifies a stored session (`sesn_…`).
    SessionId,
    "sesn",
    "session"
);

/// Mints new ids.
pub trait IdGenerator: Send + Sync + fmt::Debug {
    /// Returns 26 characters of id body (without prefix).
    fn next_body(&self) -> String;

    /// Returns a fresh id of type `T`.
    fn next_id<T: PrefixedId>(&self) -> T
    where
        Self: Sized,
    {
        T::from_string_unchecked(format!("{}_{}", T::PREFIX, self.next_body()))
    }
}

/// Mints a fresh id of type `T` from a generator trait object.
pub fn new_id<T: PrefixedId>(ids: &dyn IdGenerator) -> T {
    T::from_string_unchecked(format!("{}_{}", T::PREFIX, ids.next_body()))
}

/// Time-ordered random ids from the system clock and the OS random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn next_body(&self) -> String {
        let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let mut random = [0_u8; 10];
        rand::rng().fill_bytes(&mut random);
        encode_body(millis as u64, random)
    }
}

/// Deterministic ids for tests: the n-th id depends only on the seed and n.
#[derive(Debug)]
pub struct SequentialIds {
    seed: u64,
    counter: AtomicU64,
}

impl SequentialIds {
    /// Returns a generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl IdGenerator for SequentialIds {
    fn next_body(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        // splitmix64 (Steele, Lea & Flood 2014) gives well-spread random bits per counter value.
        let mut random = [0_u8; 10];
        let a = splitmix64(self.seed ^ n);
        let b = splitmix64(a);
        random[..8].copy_from_slice(&a.to_be_bytes());
        random[8..].copy_from_slice(&b.to_be_bytes()[..2]);
        encode_body(n, random)
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Encodes 48 bits of `time` and 80 random bits as 26 base32 characters.
fn encode_body(time: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(time & 0xffff_ffff_ffff) << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (72 - 8 * i);
    }
    let mut out = [0_u8; BODY_LEN];
    for slot in out.iter_mut().rev() {
        *slot = CROCKFORD[(value & 31) as usize];
        value >>= 5;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// Serializes any [`PrefixedId`] as a string (for `#[serde(serialize_with)]`).
pub fn serialize_id<T: PrefixedId, S: Serializer>(id: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

/// Deserializes any [`PrefixedId`] from a string (for `#[serde(deserialize_with)]`).
pub fn deserialize_id<'de, T: PrefixedId, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let text = String::deserialize(d)?;
    T::parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_fixed_length() {
        let id: SessionId = RandomIds.next_id();
        assert!(id.as_str().starts_with("sesn_"));
        assert_eq!(id.as_str().len(), "sesn_".len() + BODY_LEN);
        assert_eq!(SessionId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn sequential_ids_repeat_for_the_same_seed() {
        let a = SequentialIds::new(3);
        let b = SequentialIds::new(3);
        let first: SessionId = a.next_id();
        assert_eq!(first, b.next_id::<SessionId>());
        assert_ne!(first, a.next_id::<SessionId>());
    }

    #[test]
    fn parse_rejects_wrong_prefix_and_characters() {
        for bad in ["mem_abc", "sesn_", "sesn_a b", "sesn", "xsesn_abc"] {
            let err = SessionId::parse(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_id", "{bad}");
        }
    }
}
