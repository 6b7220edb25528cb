//! Signing as the Standard Webhooks spec says (<https://www.standardwebhooks.com/>,
//! `spec/standard-webhooks.md`, "Signature scheme"), so a receiver can verify
//! `dream`'s deliveries with any of that spec's libraries (or Svix's):
//!
//! - `webhook-id`: the delivery's `msg_…` id, the same on every retry;
//! - `webhook-timestamp`: Unix seconds of this attempt;
//! - `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//!   keyed with the base64-decoded part of the secret after `whsec_`. The header may
//!   hold several space-separated signatures; one match is enough.
//!
//! ```
//! use dream_server::webhooks::sign::{generate_secret, sign, verify};
//!
//! let secret = generate_secret();
//! let body = br#"{"type":"dream.completed"}"#;
//! let signature = sign(&secret, "msg_1", 1_700_000_000, body)?;
//! verify(&secret, "msg_1", "1700000000", &signature, body, 1_700_000_060)?;
//! # Ok::<(), dream_server::webhooks::sign::SignError>(())
//! ```

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

/// The prefix of every signing secret (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";
/// Fewest bytes a secret decodes to (Standard Webhooks: "between 24 bytes and 64 bytes").
pub const MIN_SECRET_BYTES: usize = 24;
/// Most bytes a secret decodes to.
pub const MAX_SECRET_BYTES: usize = 64;
/// Bytes of a secret [`generate_secret`] makes.
pub const GENERATED_SECRET_BYTES: usize = 32;
/// How far a `webhook-timestamp` may be from the verifier's clock, either way, in
/// seconds: 5 minutes, the tolerance of the spec's reference libraries.
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// The header carrying the delivery id.
pub const HEADER_ID: &str = "webhook-id";
/// The header carrying the attempt's Unix seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The header carrying the signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The only signature version the spec defines for symmetric keys.
const VERSION: &str = "v1";

/// Standard base64, padded or not (secrets pasted from elsewhere often lack the `=`).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a secret is unusable or a request does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The secret is not `whsec_` + base64 of 24–64 bytes.
    #[error("{0}")]
    InvalidSecret(String),
    /// A `webhook-*` header is absent or not text.
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not a whole number of seconds.
    #[error("webhook-timestamp {0:?} is not a number of Unix seconds")]
    InvalidTimestamp(String),
    /// `webhook-timestamp` is more than [`TOLERANCE_SECS`] away from now.
    #[error(
        "webhook-timestamp {timestamp} is {skew_secs} s from now; at most {TOLERANCE_SECS} s \
         is accepted (a replay, or a clock that is off)"
    )]
    TimestampOutOfTolerance {
        /// The header's value.
        timestamp: i64,
        /// How far from now, in seconds.
        skew_secs: i64,
    },
    /// No `v1` signature in the header matches the body.
    #[error("no signature in webhook-signature matches this id, timestamp and body")]
    NoMatchingSignature,
}

impl SignError {
    /// Returns the stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            SignError::InvalidSecret(_) => "invalid_secret",
            SignError::MissingHeader(_) => "missing_header",
            SignError::InvalidTimestamp(_) => "invalid_timestamp",
            SignError::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
            SignError::NoMatchingSignature => "no_matching_signature",
        }
    }
}

/// Returns a fresh secret: `whsec_` + base64 of [`GENERATED_SECRET_BYTES`] random bytes
/// from the OS-seeded thread RNG.
pub fn generate_secret() -> String {
    let mut key = [0u8; GENERATED_SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// Returns the HMAC key of a secret: the base64 after `whsec_`, decoded (with or
/// without padding).
///
/// # Errors
/// [`SignError::InvalidSecret`] without the prefix, for text that is not standard
/// base64, or for a key outside [`MIN_SECRET_BYTES`]..=[`MAX_SECRET_BYTES`] bytes.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SignError> {
    let body = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        SignError::InvalidSecret(format!(
            "a webhook secret starts with {SECRET_PREFIX:?} followed by base64 \
             (Standard Webhooks); leave `secret` out to have one generated"
        ))
    })?;
    let key = LENIENT.decode(body).map_err(|_| {
        SignError::InvalidSecret(format!(
            "the part of the secret after {SECRET_PREFIX:?} is not standard base64"
        ))
    })?;
    if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
        return Err(SignError::InvalidSecret(format!(
            "the secret decodes to {} bytes; Standard Webhooks asks for {MIN_SECRET_BYTES} to \
             {MAX_SECRET_BYTES}",
            key.len()
        )));
    }
    Ok(key)
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Result<Hmac<Sha256>, SignError> {
    // HMAC takes keys of any length; the error exists only for other MACs.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| SignError::InvalidSecret("the secret is not a usable HMAC key".into()))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// Returns the `webhook-signature` value for one attempt: `v1,<base64 HMAC-SHA256>`.
///
/// `timestamp` is the attempt's Unix seconds (also sent as `webhook-timestamp`);
/// `body` the exact bytes sent.
///
/// # Errors
/// [`SignError::InvalidSecret`] (see [`decode_secret`]).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SignError> {
    let key = decode_secret(secret)?;
    let tag = mac(&key, id, timestamp, body)?.finalize().into_bytes();
    Ok(format!("{VERSION},{}", STANDARD.encode(tag)))
}

/// Checks a received request as a receiver would: the timestamp is within
/// [`TOLERANCE_SECS`] of `now_secs` (Unix seconds), and one of the space-separated
/// `v1,…` signatures matches (compared in constant time). Signatures of other
/// versions are skipped.
///
/// # Errors
/// [`SignError::InvalidSecret`], [`SignError::InvalidTimestamp`],
/// [`SignError::TimestampOutOfTolerance`], [`SignError::NoMatchingSignature`].
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignError> {
    let key = decode_secret(secret)?;
    let at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignError::InvalidTimestamp(timestamp.to_owned()))?;
    let skew_secs = now_secs.saturating_sub(at).saturating_abs();
    if skew_secs > TOLERANCE_SECS {
        return Err(SignError::TimestampOutOfTolerance {
            timestamp: at,
            skew_secs,
        });
    }
    let expected = mac(&key, id, at, body)?;
    let matches = signatures
        .split_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == VERSION)
        .filter_map(|(_, signature)| STANDARD.decode(signature).ok())
        .any(|tag| expected.clone().verify_slice(&tag).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignError::NoMatchingSignature)
    }
}

/// [`verify`] reading the three `webhook-*` headers.
///
/// # Errors
/// [`SignError::MissingHeader`], then those of [`verify`].
pub fn verify_headers(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .ok_or(SignError::MissingHeader(name))
    };
    verify(
        secret,
        header(HEADER_ID)?,
        header(HEADER_TIMESTAMP)?,
        header(HEADER_SIGNATURE)?,
        body,
        now_secs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The spec's published vector, also in its reference libraries' tests
    // (standard-webhooks `libraries/python/tests/test_webhooks.py`) and Svix's docs.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signing_reproduces_the_spec_vector() {
        assert_eq!(sign(SECRET, ID, TIMESTAMP, BODY).unwrap(), SIGNATURE);
        verify(SECRET, ID, "1614265330", SIGNATURE, BODY, TIMESTAMP).unwrap();
    }

    #[test]
    fn tampering_with_any_signed_part_fails() {
        let now = TIMESTAMP;
        let fail = |id: &str, ts: &str, sig: &str, body: &[u8]| {
            verify(SECRET, id, ts, sig, body, now).unwrap_err()
        };
        assert_eq!(
            fail(ID, "1614265330", SIGNATURE, br#"{"test": 2432232315}"#),
            SignError::NoMatchingSignature
        );
        assert_eq!(
            fail("msg_other", "1614265330", SIGNATURE, BODY),
            SignError::NoMatchingSignature
        );
        assert_eq!(
            fail(ID, "1614265331", SIGNATURE, BODY),
            SignError::NoMatchingSignature
        );
        let other_secret = generate_secret();
        assert_eq!(
            verify(&other_secret, ID, "1614265330", SIGNATURE, BODY, now).unwrap_err(),
            SignError::NoMatchingSignature
        );
        assert_eq!(
            fail(
                ID,
                "1614265330",
                "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                BODY
            ),
            SignError::NoMatchingSignature,
            "only v1 signatures count"
        );
        assert_eq!(
            fail(ID, "soon", SIGNATURE, BODY).code(),
            "invalid_timestamp"
        );
    }

    #[test]
    fn one_matching_signature_among_several_is_enough() {
        let header = format!("v1,bm90IGl0 v1a,xyz {SIGNATURE}");
        verify(SECRET, ID, "1614265330", &header, BODY, TIMESTAMP).unwrap();
    }

    #[test]
    fn timestamps_outside_five_minutes_are_refused_either_way() {
        let ts = TIMESTAMP.to_string();
        verify(SECRET, ID, &ts, SIGNATURE, BODY, TIMESTAMP + TOLERANCE_SECS).unwrap();
        verify(SECRET, ID, &ts, SIGNATURE, BODY, TIMESTAMP - TOLERANCE_SECS).unwrap();
        for now in [
            TIMESTAMP + TOLERANCE_SECS + 1,
            TIMESTAMP - TOLERANCE_SECS - 1,
        ] {
            let err = verify(SECRET, ID, &ts, SIGNATURE, BODY, now).unwrap_err();
            assert_eq!(err.code(), "timestamp_out_of_tolerance", "{err}");
        }
    }

    #[test]
    fn generated_secrets_are_fresh_32_byte_keys_that_sign_and_verify() {
        let secret = generate_secret();
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(
            decode_secret(&secret).unwrap().len(),
            GENERATED_SECRET_BYTES
        );
        assert_ne!(secret, generate_secret());
        let signature = sign(&secret, "msg_x", 10, b"{}").unwrap();
        verify(&secret, "msg_x", "10", &signature, b"{}", 10).unwrap();
    }

    #[test]
    fn bad_secrets_are_refused_with_a_reason() {
        for (secret, says) in [
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with \"whsec_\""),
            ("whsec_not base64!", "not standard base64"),
            ("whsec_c2hvcnQ=", "decodes to 5 bytes"),
            (&format!("whsec_{}", STANDARD.encode([0u8; 65])), "65 bytes"),
        ] {
            let err = decode_secret(secret).unwrap_err();
            assert_eq!(err.code(), "invalid_secret");
            assert!(err.to_string().contains(says), "{secret}: {err}");
        }
        // Unpadded base64 of a 32-byte key reads the same as padded.
        let padded = format!("whsec_{}", STANDARD.encode([7u8; 32]));
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(
            decode_secret(&padded).unwrap(),
            decode_secret(unpadded).unwrap()
        );
    }

    #[test]
    fn headers_are_read_and_missing_ones_named() {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_ID, ID.parse().unwrap());
        headers.insert(HEADER_TIMESTAMP, "1614265330".parse().unwrap());
        assert_eq!(
            verify_headers(SECRET, &headers, BODY, TIMESTAMP).unwrap_err(),
            SignError::MissingHeader(HEADER_SIGNATURE)
        );
        headers.insert(HEADER_SIGNATURE, SIGNATURE.parse().unwrap());
        verify_headers(SECRET, &headers, BODY, TIMESTAMP).unwrap();
    }
}
