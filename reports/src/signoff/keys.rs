//! Ed25519 key pairs on disk and the directory of trusted public keys.
//!
//! Private keys are PKCS#8 v1 PEM (RFC 8410, readable by OpenSSL) written with mode 0600; public keys are SPKI PEM
//! (`<name>.pub.pem`). A key is named by its key id: hex of the first 8 bytes of
//! the SHA-256 of the raw 32-byte public key.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::KeypairBytes;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::policy::{TrustPolicy, POLICY_FILE};
use super::SignoffError;

/// The key id of a public key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// Paths and id of a freshly generated key pair.
#[derive(Debug, Clone)]
pub struct KeyPairFiles {
    pub private_key: PathBuf,
    pub public_key: PathBuf,
    pub key_id: String,
}

/// Generates a key pair into `dir` as `<name>.key.pem` (0600) and `<name>.pub.pem`.
/// Never overwrites an existing key.
pub fn keygen(dir: &Path, name: &str) -> Result<KeyPairFiles, SignoffError> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(SignoffError::Usage(format!(
            "key name `{name}` must be letters, digits, `.`, `_` or `-`"
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| SignoffError::io(dir, e))?;
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    // RFC 8410's form (PKCS#8 v1, no embedded public key), as `openssl genpkey
    // -algorithm ed25519` writes it: dalek's default v2 encoding is refused by
    // OpenSSL and pyca/cryptography, so other tools could not use the key.
    let private_pem = KeypairBytes {
        secret_key: signing.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_pem(LineEnding::LF)
    .map_err(|e| SignoffError::Key(format!("cannot encode the private key: {e}")))?;
    let public_pem = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| SignoffError::Key(format!("cannot encode the public key: {e}")))?;
    let files = KeyPairFiles {
        private_key: dir.join(format!("{name}.key.pem")),
        public_key: dir.join(format!("{name}.pub.pem")),
        key_id: key_id(&signing.verifying_key()),
    };
    write_new(&files.private_key, private_pem.as_bytes(), 0o600)?;
    write_new(&files.public_key, public_pem.as_bytes(), 0o644)?;
    Ok(files)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SignoffError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| SignoffError::io(path, e))?;
    file.write_all(bytes).map_err(|e| SignoffError::io(path, e))
}

/// Reads a PKCS#8 PEM private key. Refuses a key file others can read or
/// write, as ssh does: a shared signing key proves nothing about who signed.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, SignoffError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| SignoffError::io(path, e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(SignoffError::Key(format!(
            "the private key {} is accessible to others (mode {mode:o}): run `chmod 600` on it",
            path.display()
        )));
    }
    let pem = std::fs::read_to_string(path).map_err(|e| SignoffError::io(path, e))?;
    // The decoder's message never contains key material.
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        SignoffError::Key(format!(
            "{} is not an Ed25519 PKCS#8 PEM private key ({e})",
            path.display()
        ))
    })
}

/// Trusted public keys by key id, and the directory's `trust.toml`: who holds
/// each key and which roles they may sign ([`TrustPolicy`]).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: BTreeMap<String, TrustedKey>,
    /// `None` for a directory without `trust.toml` (or a store built in memory):
    /// enough to check an attestation, never enough to approve a report.
    policy: Option<TrustPolicy>,
}

/// One trusted key and where it came from.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub key: VerifyingKey,
    /// File name (or label) it was loaded from, for messages.
    pub source: String,
}

impl TrustStore {
    /// Loads every `*.pub.pem` file in `dir` and its `trust.toml` when present.
    /// An unreadable or malformed key file or `trust.toml` is an error rather
    /// than silently skipped, and so is a directory without keys.
    pub fn load_dir(dir: &Path) -> Result<TrustStore, SignoffError> {
        let entries = std::fs::read_dir(dir).map_err(|e| SignoffError::io(dir, e))?;
        let mut store = TrustStore::default();
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".pub.pem"))
            .collect();
        paths.sort();
        for path in paths {
            let pem = std::fs::read_to_string(&path).map_err(|e| SignoffError::io(&path, e))?;
            let key = VerifyingKey::from_public_key_pem(&pem).map_err(|e| {
                SignoffError::Key(format!(
                    "{} is not an Ed25519 public key PEM ({e})",
                    path.display()
                ))
            })?;
            let source = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into());
            store.insert(key, source);
        }
        if store.keys.is_empty() {
            return Err(SignoffError::Key(format!(
                "no trusted keys (*.pub.pem) in {}",
                dir.display()
            )));
        }
        let policy_path = dir.join(POLICY_FILE);
        if policy_path.exists() {
            let text = std::fs::read_to_string(&policy_path)
                .map_err(|e| SignoffError::io(&policy_path, e))?;
            let ids: BTreeMap<String, String> = store
                .keys
                .iter()
                .map(|(id, k)| (k.source.clone(), id.clone()))
                .collect();
            let policy =
                TrustPolicy::parse(&text, &ids).map_err(|reason| SignoffError::Config {
                    path: policy_path,
                    reason,
                })?;
            store.policy = Some(policy);
        }
        Ok(store)
    }

    /// Adds a key; returns its id.
    pub fn insert(&mut self, key: VerifyingKey, source: impl Into<String>) -> String {
        let id = key_id(&key);
        self.keys.insert(
            id.clone(),
            TrustedKey {
                key,
                source: source.into(),
            },
        );
        id
    }

    /// Sets who holds which key and may sign which role.
    pub fn set_policy(&mut self, policy: TrustPolicy) {
        self.policy = Some(policy);
    }

    /// The directory's `trust.toml`, if it has one.
    pub fn policy(&self) -> Option<&TrustPolicy> {
        self.policy.as_ref()
    }

    /// The trusted key with this id.
    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.get(key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
