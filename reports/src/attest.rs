//! The decision as an in-toto attestation: a Statement v1 with the
//! `test-result/v0.1` predicate, in a DSSE envelope signed with the same
//! Ed25519 keys as the sign-offs.
//!
//! - The envelope is DSSE's JSON form: `payloadType`, base64 `payload`,
//!   `signatures: [{keyid, sig}]`; each `sig` is over [`pae`], never over the
//!   bare payload, so a signature cannot be replayed under another type.
//! - `keyid` is the sign-offs' key id ([`key_id`]): the trust directory that
//!   verifies sign-offs verifies attestations.
//! - `result` is `PASSED` for GO and `FAILED` for NO-GO **and INCONCLUSIVE**:
//!   an inconclusive run proved nothing, and `WARNED` reads as "passed with
//!   warnings" to the policy engines that consume this predicate. What was not
//!   proven is listed in `warnedTests`, so a reader tells the two apart.
//! - `warnedTests` also lists the warned checks (a failed *should* of the
//!   contract): a GO with warnings stays `PASSED`, as the decision does.
//!
//! PAE is seven lines of the DSSE spec; it is written here rather than taken
//! from a crate because every Rust DSSE crate pulls its own key types and
//! serde model, and ours must stay the sign-offs' keys and the report's digests.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::model::{CriterionStatus, Outcome, Report, Verdict};
use crate::signoff::{key_id, TrustStore};

/// DSSE `payloadType` of an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The test-result predicate.
pub const PREDICATE_TYPE: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// A DSSE envelope (JSON serialization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// An in-toto ResourceDescriptor: a subject or a configuration entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub digest: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
}

impl Descriptor {
    /// `name` with the SHA-256 of `bytes`.
    pub fn sha256_of(name: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            name: Some(name.to_string()),
            uri: None,
            digest: BTreeMap::from([("sha256".into(), hex::encode(Sha256::digest(bytes)))]),
            annotations: None,
        }
    }

    /// A subject from `NAME=ALG:HEX` (`--subject app=sha256:ab12…`).
    pub fn parse_subject(spec: &str) -> Result<Descriptor, AttestError> {
        let usage = || AttestError::Subject { spec: spec.into() };
        let (name, digest) = spec.split_once('=').ok_or_else(usage)?;
        let (alg, hex_value) = digest.split_once(':').ok_or_else(usage)?;
        let alg = alg.trim().to_ascii_lowercase();
        let hex_value = hex_value.trim().to_ascii_lowercase();
        let want = match alg.as_str() {
            "sha256" => 64,
            "sha512" => 128,
            "sha1" | "gitcommit" => 40,
            _ => {
                return Err(AttestError::Algorithm {
                    spec: spec.into(),
                    alg,
                })
            }
        };
        if name.trim().is_empty()
            || hex_value.len() != want
            || !hex_value.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(usage());
        }
        let alg = if alg == "gitcommit" {
            "gitCommit".into()
        } else {
            alg
        };
        Ok(Descriptor {
            name: Some(name.trim().to_string()),
            uri: None,
            digest: BTreeMap::from([(alg, hex_value)]),
            annotations: None,
        })
    }
}

/// Why an attestation cannot be written: one sentence.
#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("subject `{spec}` is not NAME=ALGORITHM:HEX (e.g. app=sha256:9f86d081…)")]
    Subject { spec: String },
    #[error(
        "subject `{spec}`: digest algorithm `{alg}` is not one of sha256, sha512, sha1, gitCommit"
    )]
    Algorithm { spec: String, alg: String },
    #[error("the report names no deployment commit and no --subject was given: an attestation must be about something; pass --subject NAME=sha256:HEX (an image digest) or run with GIT_COMMIT set")]
    NoSubject,
    /// The statement cannot be serialised for signing.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// What the statement says beyond the report itself.
#[derive(Debug, Clone, Default)]
pub struct StatementInputs {
    /// Given subjects; the report's deployment commit is added when it has one.
    pub subjects: Vec<Descriptor>,
    /// The contract, the R1 baseline, the configuration (with digests).
    pub configuration: Vec<Descriptor>,
    /// Where the report can be read (`url` of the predicate).
    pub url: Option<String>,
}

/// The `result` for a verdict (see the module comment for INCONCLUSIVE).
pub fn result_of(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Go => "PASSED",
        Verdict::NoGo | Verdict::Inconclusive => "FAILED",
    }
}

/// The in-toto Statement for `report`, whose file bytes are `report_bytes`.
pub fn statement(
    report: &Report,
    report_bytes: &[u8],
    inputs: &StatementInputs,
) -> Result<Value, AttestError> {
    let mut subjects = Vec::new();
    if let Some(commit) = &report.run.target.git_commit {
        let commit = commit.trim().to_ascii_lowercase();
        if commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            subjects.push(Descriptor {
                name: Some(report.run.target.base_url.clone()),
                uri: None,
                digest: BTreeMap::from([("gitCommit".into(), commit)]),
                annotations: None,
            });
        }
    }
    subjects.extend(inputs.subjects.iter().cloned());
    if subjects.is_empty() {
        return Err(AttestError::NoSubject);
    }

    let (mut passed, mut warned, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for case in report.cases() {
        match case.outcome {
            Outcome::Passed => passed.push(case.id.clone()),
            Outcome::Failed => failed.push(case.id.clone()),
            Outcome::Skipped | Outcome::Warned => warned.push(case.id.clone()),
        }
    }
    // The criteria are what the verdict is judged on: each is a test too.
    for c in &report.criteria {
        let id = format!("criterion:{}", c.name);
        match c.status {
            CriterionStatus::Pass => passed.push(id),
            CriterionStatus::Fail => failed.push(id),
            CriterionStatus::Inconclusive => warned.push(id),
        }
    }

    let mut report_descriptor = Descriptor::sha256_of("go-no-go.json", report_bytes);
    report_descriptor.uri = inputs.url.clone();
    report_descriptor.annotations = Some(json!({
        "verdict": report.decision.verdict.label(),
        "run_id": report.run.id,
        "schema_version": report.schema_version,
        "tool": format!("{} {}", report.tool.name, report.tool.version),
    }));
    let mut configuration = inputs.configuration.clone();
    configuration.push(report_descriptor);

    let mut predicate = json!({
        "result": result_of(report.decision.verdict),
        "configuration": configuration,
        "passedTests": passed,
        "warnedTests": warned,
        "failedTests": failed,
    });
    if let Some(url) = &inputs.url {
        predicate["url"] = json!(url);
    }
    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }))
}

/// DSSE's pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Signs `statement` into a DSSE envelope.
pub fn envelope(statement: &Value, key: &SigningKey) -> Result<Envelope, AttestError> {
    let payload = serde_json::to_vec(statement)?;
    let sig = key.sign(&pae(PAYLOAD_TYPE, &payload));
    Ok(Envelope {
        payload: B64.encode(&payload),
        payload_type: PAYLOAD_TYPE.into(),
        signatures: vec![EnvelopeSignature {
            keyid: key_id(&key.verifying_key()),
            sig: B64.encode(sig.to_bytes()),
        }],
    })
}

/// An envelope whose signature checked out, and what it says.
#[derive(Debug, Clone)]
pub struct VerifiedAttestation {
    /// The key id that verified, and the trust file it came from.
    pub key_id: String,
    pub key_source: String,
    /// The statement, parsed from the very bytes that were verified.
    pub statement: Value,
    /// `PASSED`, `FAILED` or `WARNED`.
    pub result: String,
}

impl VerifiedAttestation {
    /// `name@alg:hex` of each subject, for messages.
    pub fn subjects(&self) -> Vec<String> {
        self.statement["subject"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let digest = s["digest"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",");
                format!("{}@{digest}", s["name"].as_str().unwrap_or("_"))
            })
            .collect()
    }
}

/// Whether `value` is a DSSE envelope rather than a report.
pub fn looks_like_envelope(value: &Value) -> bool {
    value.get("payloadType").is_some() && value.get("signatures").is_some()
}

/// Verifies `envelope` against `trust`: at least one signature by a trusted key
/// over the PAE of its payload, an in-toto Statement v1 with the test-result
/// predicate. `Err` names what is wrong in one sentence.
pub fn verify(envelope: &Envelope, trust: &TrustStore) -> Result<VerifiedAttestation, String> {
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(format!(
            "the envelope's payloadType is `{}`, not `{PAYLOAD_TYPE}`",
            envelope.payload_type
        ));
    }
    let payload = B64
        .decode(&envelope.payload)
        .map_err(|_| "the envelope's payload is not base64".to_string())?;
    if envelope.signatures.is_empty() {
        return Err("the envelope carries no signatures".into());
    }
    let message = pae(&envelope.payload_type, &payload);
    let mut reasons = Vec::new();
    let mut verified = None;
    for s in &envelope.signatures {
        let Some(trusted) = trust.get(&s.keyid) else {
            reasons.push(format!("key {} is not in the trust directory", s.keyid));
            continue;
        };
        let ok = B64
            .decode(&s.sig)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .is_some_and(|sig| trusted.key.verify_strict(&message, &sig).is_ok());
        if ok {
            verified = Some((s.keyid.clone(), trusted.source.clone()));
            break;
        }
        reasons.push(format!(
            "the signature by key {} does not match the payload: it was changed after signing",
            s.keyid
        ));
    }
    let (key_id, key_source) = verified.ok_or_else(|| reasons.join("; "))?;
    // Parsed from the verified bytes only, never from the envelope again.
    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|e| format!("the signed payload is not JSON ({e})"))?;
    if statement["_type"] != STATEMENT_TYPE {
        return Err(format!(
            "the signed payload is not an in-toto Statement v1 (`_type` is {})",
            statement["_type"]
        ));
    }
    if statement["predicateType"] != PREDICATE_TYPE {
        return Err(format!(
            "the statement's predicateType is {}, not {PREDICATE_TYPE}",
            statement["predicateType"]
        ));
    }
    let result = statement["predicate"]["result"]
        .as_str()
        .filter(|r| ["PASSED", "FAILED", "WARNED"].contains(r))
        .ok_or("the predicate's result is not PASSED, FAILED or WARNED")?
        .to_string();
    Ok(VerifiedAttestation {
        key_id,
        key_source,
        statement,
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_dsse_spec_vector() {
        // DSSE protocol.md's example.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn the_signature_covers_the_type_not_just_the_payload() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut trust = TrustStore::default();
        trust.insert(key.verifying_key(), "test");
        let s = json!({"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE,
                       "subject": [], "predicate": {"result": "PASSED"}});
        let good = envelope(&s, &key).unwrap();
        assert_eq!(verify(&good, &trust).unwrap().result, "PASSED");
        let mut retyped = good.clone();
        retyped.payload_type = "application/json".into();
        assert!(verify(&retyped, &trust)
            .unwrap_err()
            .contains("payloadType"));
        let mut unknown = good.clone();
        unknown.signatures[0].keyid = "0000000000000000".into();
        assert!(verify(&unknown, &trust)
            .unwrap_err()
            .contains("not in the trust directory"));
    }

    #[test]
    fn subjects_parse_strictly() {
        let d = Descriptor::parse_subject(&format!("img=SHA256:{}", "A".repeat(64))).unwrap();
        assert_eq!(d.digest["sha256"], "a".repeat(64));
        for bad in [
            "img",
            "img=sha256",
            "=sha256:00",
            "img=md5:00",
            "img=sha256:zz",
        ] {
            assert!(Descriptor::parse_subject(bad).is_err(), "{bad}");
        }
    }
}
