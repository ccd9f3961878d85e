"""FEP-8b32 object integrity proofs (eddsa-jcs-2022): the published vector, tampering, round
trips, Multikey encoding, and interop with apsig.  Uses no node/ fixture."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import base58
import pytest
from apsig import ProofSigner as ApsigProofSigner
from apsig import ProofVerifier as ApsigProofVerifier
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.keys import (
    KeyFormatError,
    NodeKeys,
    decode_multikey,
    ed25519_public_multibase,
    ed25519_seed_from_multibase,
    encode_multikey,
    load_ed25519_verify_key,
)
from federation.proofs import ProofError, create_proof, verify_proof

VECTOR = json.loads((Path(__file__).parent / "data" / "federation_vectors.json").read_text())["fep_8b32"]
SEED = ed25519_seed_from_multibase(VECTOR["secret_key_multibase"])
METHOD = VECTOR["proof_options"]["verificationMethod"]
CREATED = dt.datetime(2023, 2, 24, 23, 36, 38, tzinfo=dt.UTC)


def vector_key(method: str) -> str | None:
    return VECTOR["public_key_multibase"] if method == METHOD else None


def signed_vector() -> dict:
    return {**copy.deepcopy(VECTOR["document"]),
            "proof": {**VECTOR["proof_options"], "proofValue": VECTOR["expected_proofValue"]}}


# --- the FEP-8b32 vector -------------------------------------------------------------------------


def test_vector_keys():
    assert ed25519_public_multibase(SEED) == VECTOR["public_key_multibase"]
    raw = decode_multikey(VECTOR["public_key_multibase"])
    assert len(raw) == 32 and encode_multikey(raw) == VECTOR["public_key_multibase"]


def test_create_proof_reproduces_the_vector():
    signed = create_proof(VECTOR["document"], SEED, METHOD, created=CREATED)
    assert signed["proof"] == {**VECTOR["proof_options"], "proofValue": VECTOR["expected_proofValue"]}
    assert {k: v for k, v in signed.items() if k != "proof"} == VECTOR["document"]
    assert "proof" not in VECTOR["document"]  # the input is left alone


def test_verify_the_vector():
    document = signed_vector()
    before = copy.deepcopy(document)
    assert verify_proof(document, vector_key) == METHOD
    assert document == before  # verification does not modify its input


def test_proof_without_its_own_context_still_verifies():
    # vc-di-eddsa puts the document's @context into the proof configuration whether or not the
    # proof repeats it, so dropping the copy in the proof changes nothing that was signed...
    document = signed_vector()
    del document["proof"]["@context"]
    assert verify_proof(document, vector_key) == METHOD
    # ...while the document's own @context stays covered.
    document["@context"] = ["https://www.w3.org/ns/activitystreams"]
    with pytest.raises(ProofError, match="does not match the document"):
        verify_proof(document, vector_key)


def test_proof_as_single_element_list():
    document = signed_vector()
    document["proof"] = [document["proof"]]
    assert verify_proof(document, vector_key) == METHOD
    document["proof"] = document["proof"] * 2
    with pytest.raises(ProofError, match="2 proofs"):
        verify_proof(document, vector_key)


# --- tampering -----------------------------------------------------------------------------------


def _tamper(change) -> dict:
    document = signed_vector()
    change(document)
    return document


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["object"].__setitem__("content", "Hello world!"),
        lambda d: d.__setitem__("actor", "https://server.example/users/mallory"),
        lambda d: d["object"]["location"].__setitem__("latitude", 25.273963),
        lambda d: d.__setitem__("to", ["https://www.w3.org/ns/activitystreams#Public"]),
        lambda d: d["proof"].__setitem__("created", "2023-02-24T23:36:39Z"),
        lambda d: d["proof"].__setitem__("verificationMethod", "https://server.example/users/alice#other"),
    ],
    ids=["content", "actor", "float", "added-field", "proof-created", "proof-method"],
)
def test_any_change_breaks_the_proof(change):
    document = _tamper(change)
    with pytest.raises(ProofError, match="does not match the document|No public key"):
        verify_proof(document, lambda method: VECTOR["public_key_multibase"])


def test_changed_context_is_caught_before_the_signature():
    document = _tamper(lambda d: d.__setitem__("@context", ["https://www.w3.org/ns/activitystreams"]))
    with pytest.raises(ProofError, match="@context does not begin with the proof's @context"):
        verify_proof(document, vector_key)


def test_wrong_key_missing_key_and_bad_key():
    other = ed25519_public_multibase(NodeKeys.generate().ed25519_seed_hex)
    with pytest.raises(ProofError, match="does not match the document"):
        verify_proof(signed_vector(), lambda method: other)
    with pytest.raises(ProofError, match="No public key is known for verificationMethod"):
        verify_proof(signed_vector(), lambda method: None)
    with pytest.raises(ProofError, match="multicodec prefix"):
        # An ed25519-priv (0x8026) value where a public key belongs must never be accepted.
        verify_proof(signed_vector(), lambda method: VECTOR["secret_key_multibase"])


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("type", "Ed25519Signature2020", "Proof type 'Ed25519Signature2020' is not supported"),
        ("cryptosuite", "eddsa-rdfc-2022", "Cryptosuite 'eddsa-rdfc-2022' is not supported"),
        ("proofPurpose", "authentication", "proofPurpose must be assertionMethod"),
        ("proofValue", "u" + "A" * 86, "multibase base58btc"),
        ("proofValue", "z" + base58.b58encode(b"\x01" * 32).decode(), "holds 32 bytes"),
        ("created", "yesterday", "not an XML Schema dateTime"),
        ("verificationMethod", None, "no verificationMethod"),
    ],
)
def test_malformed_proofs_are_rejected(field, value, message):
    document = _tamper(lambda d: d["proof"].__setitem__(field, value))
    with pytest.raises(ProofError, match=message):
        verify_proof(document, vector_key)


def test_missing_proof_and_expired_proof():
    with pytest.raises(ProofError, match="has no proof"):
        verify_proof(VECTOR["document"], vector_key)
    signed = create_proof(VECTOR["document"], SEED, METHOD, created=CREATED)
    signed["proof"]["expires"] = "2023-03-01T00:00:00Z"  # also breaks the signature; checked first
    with pytest.raises(ProofError, match="expired"):
        verify_proof(signed, vector_key, now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


def test_future_proof_is_rejected():
    signed = create_proof(VECTOR["document"], SEED, METHOD, created=CREATED)
    with pytest.raises(ProofError, match="in the future"):
        verify_proof(signed, vector_key, now=CREATED - dt.timedelta(hours=1))
    assert verify_proof(signed, vector_key, now=CREATED - dt.timedelta(minutes=1)) == METHOD


def test_refuses_to_sign_twice():
    with pytest.raises(ProofError, match="already has a proof"):
        create_proof(signed_vector(), SEED, METHOD)


def test_legacy_ld_signature_is_ignored():
    # FEP-8b32: an RsaSignature2017 added after the proof must be removed before verifying.
    document = signed_vector()
    document["signature"] = {"type": "RsaSignature2017", "signatureValue": "..."}
    assert verify_proof(document, vector_key) == METHOD


# --- our own proofs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return NodeKeys.generate()


BALLOT = {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v2",
                 {"civic": "https://civicnode.example/ns#"}],
    "id": "https://town.example/ballots/7",
    "type": "civic:Ballot",
    "attributedTo": "https://town.example/users/zoë",
    "content": "Parc de l’Ouest — ✓ oui 🌳",
    "civic:points": [3, 2, 1],
    "civic:cost": 12500.5,
    "civic:share": 0.1,
    "civic:tiny": 1e-7,
    "civic:secret": False,
    "civic:note": None,
}


def test_round_trip_with_generated_keys(keys):
    assert keys.ed25519_public_multibase.startswith("z6Mk")
    assert load_ed25519_verify_key(keys.ed25519_public_multibase) is load_ed25519_verify_key(
        keys.ed25519_public_multibase)  # parsed once
    method = "https://town.example/actor#ed25519-key"
    signed = create_proof(BALLOT, keys.ed25519_seed_hex, method)
    created = dt.datetime.fromisoformat(signed["proof"]["created"])
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=1)
    assert verify_proof(signed, {method: keys.ed25519_public_multibase}.get) == method
    # Key order and JSON whitespace do not matter: JCS canonicalises them.
    reordered = json.loads(json.dumps(dict(reversed(list(signed.items()))), indent=3))
    assert verify_proof(reordered, {method: keys.ed25519_public_multibase}.get) == method
    signed["civic:points"] = [3, 1, 2]
    with pytest.raises(ProofError):
        verify_proof(signed, {method: keys.ed25519_public_multibase}.get)


def test_embedded_signed_object(keys):
    # A home node relays a resident's signed ballot inside its own signed Announce.
    voter, node = NodeKeys.generate(), keys
    ballot = create_proof(BALLOT, voter.ed25519_seed_hex, "https://town.example/users/zoë#ed25519-key")
    announce = create_proof(
        {"@context": BALLOT["@context"][:2], "type": "Announce", "actor": "https://town.example/actor",
         "object": ballot},
        node.ed25519_seed_hex, "https://town.example/actor#ed25519-key",
    )
    keys_by_method = {"https://town.example/users/zoë#ed25519-key": voter.ed25519_public_multibase,
                      "https://town.example/actor#ed25519-key": node.ed25519_public_multibase}
    assert verify_proof(announce, keys_by_method.get) == "https://town.example/actor#ed25519-key"
    assert verify_proof(announce["object"], keys_by_method.get).endswith("zoë#ed25519-key")


def test_multikey_rejects_other_codecs_and_lengths():
    with pytest.raises(KeyFormatError, match="start with 'z'"):
        decode_multikey("f" + "00" * 34)
    with pytest.raises(KeyFormatError, match="prefix"):
        decode_multikey("z" + base58.b58encode(b"\x12\x00" + b"\x00" * 32).decode())
    with pytest.raises(KeyFormatError, match="expected 32"):
        decode_multikey("z" + base58.b58encode(b"\xed\x01" + b"\x00" * 31).decode())
    with pytest.raises(KeyFormatError):
        NodeKeys.from_private(NodeKeys.generate().rsa_private_pem, "abcd")


# --- interop with apsig (independent implementation; JCS via the `jcs` package) ------------------


def test_apsig_verifies_our_proofs(keys):
    method = "https://town.example/actor#ed25519-key"
    for document in (VECTOR["document"], BALLOT):
        signed = create_proof(document, keys.ed25519_seed_hex, method)
        verifier = ApsigProofVerifier(keys.ed25519_public_multibase)
        # apsig pops proofValue from the object it is given: hand it a copy.
        assert verifier.verify(copy.deepcopy(signed), raise_on_fail=True) == method
        signed["content"] = "changed"
        assert verifier.verify(copy.deepcopy(signed)) is None


def test_we_verify_apsig_proofs(keys):
    method = "https://other.example/users/ana#ed25519-key"
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(keys.ed25519_seed_hex))
    options = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "verificationMethod": method,
               "proofPurpose": "assertionMethod", "created": "2025-05-01T12:00:00Z"}
    signed = ApsigProofSigner(private).sign(copy.deepcopy(BALLOT), options)
    assert verify_proof(signed, {method: keys.ed25519_public_multibase}.get) == method
    # Same key, same options, same document: Ed25519 is deterministic, so the bytes agree too.
    ours = create_proof(BALLOT, keys.ed25519_seed_hex, method,
                        created=dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC))
    assert ours["proof"]["proofValue"] == signed["proof"]["proofValue"]
