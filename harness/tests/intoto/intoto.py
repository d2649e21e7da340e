"""in-toto's own Python tooling on gonogo's attestations (harness/tests/attest.rs).

verify ENVELOPE PUBKEY_PEM KEYID
    securesystemslib's DSSE Envelope verifies the signature with an SSlibKey
    made from the public key; the payload is then read as an in-toto
    Statement v1 (in_toto_attestation's model, validated) whose predicate
    parses, strictly, as the test-result v0 protobuf. Prints the result.
sign STATEMENT PRIVKEY_PEM KEYID
    Signs a statement JSON file with securesystemslib's CryptoSigner and
    prints the DSSE envelope: the reverse direction.

Exit 0 on success; 1 with one line on stderr when verification fails.
"""

import json
import sys

from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from google.protobuf import json_format
from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"


def verify(envelope_path, pub_path, keyid):
    with open(pub_path, "rb") as f:
        key = SSlibKey.from_crypto(load_pem_public_key(f.read()), keyid=keyid)
    with open(envelope_path) as f:
        envelope = Envelope.from_dict(json.load(f))
    if envelope.payload_type != PAYLOAD_TYPE:
        raise VerificationError(f"payloadType is {envelope.payload_type}")
    envelope.verify([key], 1)
    # The statement, from the payload bytes that were verified.
    pb = json_format.Parse(envelope.payload, statement_pb2.Statement())
    statement = Statement.copy_from_pb(pb)
    statement.validate()
    if statement.pb.predicate_type != PREDICATE_TYPE:
        raise VerificationError(f"predicateType is {statement.pb.predicate_type}")
    predicate = json_format.MessageToDict(statement.pb.predicate)
    result = json_format.ParseDict(predicate, test_result_pb2.TestResult())
    print(
        json.dumps(
            {
                "result": result.result,
                "subjects": [s.name for s in statement.pb.subject],
                "passed": len(result.passed_tests),
                "warned": len(result.warned_tests),
                "failed": len(result.failed_tests),
                "configuration": [c.name for c in result.configuration],
            }
        )
    )


def sign(statement_path, key_path, keyid):
    with open(key_path, "rb") as f:
        private = load_pem_private_key(f.read(), None)
    public = SSlibKey.from_crypto(private.public_key(), keyid=keyid)
    signer = CryptoSigner(private, public)
    with open(statement_path, "rb") as f:
        payload = f.read()
    envelope = Envelope(payload, PAYLOAD_TYPE, {})
    envelope.sign(signer)
    print(json.dumps(envelope.to_dict()))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    try:
        {"verify": verify, "sign": sign}[command](*args)
    except (VerificationError, ValueError, json_format.ParseError) as e:
        print(f"in-toto: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
