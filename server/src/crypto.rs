//! Metadata encryption at rest: AES-256-GCM, random 96-bit nonce, associated data binding the
//! ciphertext to its file id and owner, keys named by a key id so they can be rotated.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use uuid::Uuid;

use crate::error::StartupError;

/// One named key.
struct NamedKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The configured keys: the first encrypts, every key can decrypt (rotation).
pub struct Keyring {
    keys: Vec<NamedKey>,
}

/// What is stored in the row for one encrypted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Ciphertext including the 16-byte GCM tag.
    pub ciphertext: Vec<u8>,
    /// The 12-byte nonce, fresh per encryption.
    pub nonce: Vec<u8>,
    /// Which key encrypted it.
    pub key_id: String,
}

/// Decryption failed: wrong key id, tampered or moved ciphertext. Carries no data on purpose.
#[derive(Debug, thiserror::Error)]
#[error("metadata could not be decrypted (key id {key_id:?})")]
pub struct DecryptError {
    /// The key id stored with the value (not secret), for the log.
    pub key_id: String,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only: the key material never reaches a log.
        f.debug_struct("Keyring")
            .field(
                "key_ids",
                &self.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// Parses `kid:base64,kid2:base64`; each key must decode to exactly 32 bytes.
    pub fn parse(spec: &str) -> Result<Keyring, StartupError> {
        let bad = |why: &str| {
            StartupError::Config(format!(
                "METADATA_KEY is malformed ({why}): use `kid:base64-of-32-random-bytes`, comma separated for older keys."
            ))
        };
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, b64) = part.split_once(':').ok_or_else(|| bad("missing `kid:`"))?;
            let id_ok = !id.is_empty()
                && id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !id_ok {
                return Err(bad("key id must be 1-32 chars of [A-Za-z0-9._-]"));
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|_| bad("key is not valid base64"))?;
            if raw.len() != 32 {
                return Err(bad("key must be 32 bytes"));
            }
            if keys.iter().any(|k: &NamedKey| k.id == id) {
                return Err(bad("duplicate key id"));
            }
            let cipher =
                Aes256Gcm::new_from_slice(&raw).map_err(|_| bad("key must be 32 bytes"))?;
            keys.push(NamedKey {
                id: id.to_owned(),
                cipher,
            });
        }
        if keys.is_empty() {
            return Err(bad("no key given"));
        }
        Ok(Keyring { keys })
    }

    /// The associated data: file id then owner id (32 bytes). A ciphertext copied to another
    /// row, or another owner, fails authentication.
    fn aad(file_id: Uuid, owner_id: Uuid) -> [u8; 32] {
        let mut aad = [0u8; 32];
        aad[..16].copy_from_slice(file_id.as_bytes());
        aad[16..].copy_from_slice(owner_id.as_bytes());
        aad
    }

    /// Encrypts with the current (first) key under a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], file_id: Uuid, owner_id: Uuid) -> Sealed {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        self.seal_with_nonce(plaintext, file_id, owner_id, nonce)
    }

    /// Encrypts with the current (first) key under `nonce`. A nonce must never
    /// repeat under one key: [`Keyring::seal`] draws a random one; this is the
    /// step it calls, open to tests that need a known nonce (gonogo's fixed-nonce mutant).
    /// Hidden from the documentation: nothing in the server calls it but `seal`.
    #[doc(hidden)]
    pub fn seal_with_nonce(
        &self,
        plaintext: &[u8],
        file_id: Uuid,
        owner_id: Uuid,
        nonce: [u8; 12],
    ) -> Sealed {
        let key = &self.keys[0];
        let aad = Self::aad(file_id, owner_id);
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // AES-GCM encryption only fails for inputs of ~64 GiB, far above any metadata.
            .expect("AES-GCM encryption of a small buffer cannot fail");
        Sealed {
            ciphertext,
            nonce: nonce.to_vec(),
            key_id: key.id.clone(),
        }
    }

    /// Decrypts with the key named in `sealed`.
    pub fn open(
        &self,
        sealed: &Sealed,
        file_id: Uuid,
        owner_id: Uuid,
    ) -> Result<Vec<u8>, DecryptError> {
        let err = || DecryptError {
            key_id: sealed.key_id.clone(),
        };
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(err)?;
        if sealed.nonce.len() != 12 {
            return Err(err());
        }
        let aad = Self::aad(file_id, owner_id);
        key.cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| err())
    }
}

/// A fresh `kid:base64` metadata key.
pub fn random_metadata_key(kid: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "{kid}:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_to_file_and_owner() {
        let ring = Keyring::parse(&random_metadata_key("a")).unwrap();
        let (f, o) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = ring.seal(b"{\"title\":\"x\"}", f, o);
        assert_eq!(sealed.key_id, "a");
        assert_eq!(ring.open(&sealed, f, o).unwrap(), b"{\"title\":\"x\"}");
        assert!(
            ring.open(&sealed, Uuid::new_v4(), o).is_err(),
            "moved to another file"
        );
        assert!(
            ring.open(&sealed, f, Uuid::new_v4()).is_err(),
            "moved to another owner"
        );
    }

    #[test]
    fn nonces_are_fresh() {
        let ring = Keyring::parse(&random_metadata_key("a")).unwrap();
        let (f, o) = (Uuid::new_v4(), Uuid::new_v4());
        assert_ne!(ring.seal(b"x", f, o).nonce, ring.seal(b"x", f, o).nonce);
    }

    #[test]
    fn older_keys_still_decrypt_after_rotation() {
        let old = random_metadata_key("old");
        let old_ring = Keyring::parse(&old).unwrap();
        let (f, o) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = old_ring.seal(b"m", f, o);
        let rotated = Keyring::parse(&format!("{},{old}", random_metadata_key("new"))).unwrap();
        assert_eq!(rotated.open(&sealed, f, o).unwrap(), b"m");
        assert_eq!(rotated.seal(b"m", f, o).key_id, "new");
    }

    #[test]
    fn malformed_keys_are_refused_with_one_sentence() {
        for bad in ["", "nokid", ":AAAA", "k:not-base64!", "k:AAAA"] {
            let err = Keyring::parse(bad).expect_err(bad).to_string();
            assert!(err.starts_with("METADATA_KEY is malformed"), "{err}");
        }
    }
}
