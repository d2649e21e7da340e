//! The signed head: how many entries the ledger holds and the hash of the last
//! one, signed with the gate's Ed25519 key at each append.
//!
//! The signed bytes are `gonogo-ledger-head-v1\n<count>\n<hash>\n`. Every head
//! is kept, so an old head still vouches for the prefix it covered; `gonogo
//! ledger head` prints the newest one as JSON ([`SignedHead`]), which CI can
//! keep elsewhere and give back to `gonogo ledger verify --head FILE`.

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _};
use gonogo_reports::signoff::{key_id, TrustStore};
use serde::{Deserialize, Serialize};

/// One signed head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// How many entries the head vouches for (the last one's `seq`).
    pub count: i64,
    /// The hash of entry number `count`.
    pub hash: String,
    /// The signing key's id (hex of the first 8 bytes of SHA-256 of the public key).
    pub key_id: String,
    /// Ed25519 signature over [`SignedHead::signed_bytes`], standard base64.
    pub signature: String,
}

/// Why a head does not vouch for anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("it is signed by key {0}, which is not among the trusted keys")]
    UnknownKey(String),
    #[error("its signature is not valid base64 of 64 bytes")]
    Malformed,
    #[error("its signature does not verify with key {0}")]
    BadSignature(String),
}

impl SignedHead {
    /// What is signed for `count` entries ending in `hash`.
    pub fn signed_bytes(count: i64, hash: &str) -> Vec<u8> {
        format!("gonogo-ledger-head-v1\n{count}\n{hash}\n").into_bytes()
    }

    /// The head of `count` entries ending in `hash`, signed with `key`.
    pub fn sign(key: &SigningKey, count: i64, hash: &str) -> SignedHead {
        let signature = key.sign(&Self::signed_bytes(count, hash));
        SignedHead {
            count,
            hash: hash.to_owned(),
            key_id: key_id(&key.verifying_key()),
            signature: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
        }
    }

    /// Checks the signature against the trusted key it names.
    pub fn check(&self, trust: &TrustStore) -> Result<(), HeadError> {
        let key = trust
            .get(&self.key_id)
            .ok_or_else(|| HeadError::UnknownKey(self.key_id.clone()))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.signature)
            .map_err(|_| HeadError::Malformed)?;
        let signature = Signature::from_slice(&bytes).map_err(|_| HeadError::Malformed)?;
        key.key
            .verify(&Self::signed_bytes(self.count, &self.hash), &signature)
            .map_err(|_| HeadError::BadSignature(self.key_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_verifies_only_with_its_key_and_its_own_count_and_hash() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let head = SignedHead::sign(&key, 3, "ab");
        let mut trust = TrustStore::default();
        trust.insert(key.verifying_key(), "test");
        assert_eq!(head.check(&trust), Ok(()));
        let mut moved = head.clone();
        moved.count = 2;
        assert!(matches!(
            moved.check(&trust),
            Err(HeadError::BadSignature(_))
        ));
        let forged = SignedHead::sign(&other, 3, "ab");
        assert!(matches!(
            forged.check(&trust),
            Err(HeadError::UnknownKey(_))
        ));
    }
}
