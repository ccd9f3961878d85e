"""FEP-8b32 object integrity proofs: ``DataIntegrityProof`` with the ``eddsa-jcs-2022`` suite.

A relayed object (a ballot forwarded by a home node, a proposal Announced by a group) carries its
own signature so that anyone can re-verify it long after the HTTP request that brought it is gone.

The algorithm is W3C "Data Integrity EdDSA Cryptosuites v1.0", section eddsa-jcs-2022:

* proof configuration = the proof options (type, cryptosuite, verificationMethod, proofPurpose,
  created) with the document's ``@context``;
* hash data = SHA-256(JCS(proof configuration)) || SHA-256(JCS(document without ``proof``));
* proofValue = multibase base58btc of the Ed25519 signature over the hash data.

JCS is RFC 8785 (``rfc8785`` package).  Keys come from :mod:`federation.keys`.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import base58
import nacl.exceptions
import rfc8785

from .keys import KeyFormatError, ed25519_signing_key, load_ed25519_verify_key

__all__ = ["CRYPTOSUITE", "PROOF_TYPE", "ProofError", "create_proof", "verify_proof"]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_PURPOSE = "assertionMethod"  # FEP-8b32: MUST be assertionMethod
# Tolerance for a signer whose clock runs ahead of ours.
_CLOCK_MARGIN = timedelta(minutes=5)
# verificationMethod id -> publicKeyMultibase, or None when unknown.  The caller is responsible
# for checking that the method is in the owner's assertionMethod (FEP-521a) and shares its origin.
# A returned string with a ``revoked`` datetime attribute (federation.actors.AssertionKey) is a
# revoked key: it verifies only proofs created before that time.
MultikeyResolver = Callable[[str], "str | None"]


class ProofError(Exception):
    """The proof is missing, malformed or does not verify; the message says which and why."""

    def __init__(self, reason: str, verification_method: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.verification_method = verification_method


def create_proof(
    document: Mapping[str, Any],
    seed_hex: str,
    verification_method: str,
    created: datetime | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` with an eddsa-jcs-2022 ``proof`` added.

    The proof repeats the document's ``@context`` (as FEP-8b32's examples do), which lets a
    verifier check that the context it signed over is the one it receives.
    """
    if "proof" in document:
        # FEP-8b32: objects SHOULD NOT carry more than one proof; refuse rather than overwrite.
        raise ProofError("The document already has a proof")
    unsecured = copy.deepcopy(dict(document))
    options: dict[str, Any] = {}
    if "@context" in unsecured:
        options["@context"] = copy.deepcopy(unsecured["@context"])
    options.update(
        type=PROOF_TYPE,
        cryptosuite=CRYPTOSUITE,
        verificationMethod=verification_method,
        proofPurpose=PROOF_PURPOSE,
        created=_format_datetime(created),
    )
    signature = ed25519_signing_key(seed_hex).sign(_hash_data(unsecured, options)).signature
    proof = dict(options, proofValue="z" + base58.b58encode(signature).decode("ascii"))
    return {**unsecured, "proof": proof}


def verify_proof(
    document: Mapping[str, Any],
    public_key_resolver: MultikeyResolver,
    *,
    now: datetime | None = None,
) -> str:
    """Verify the document's eddsa-jcs-2022 proof; return its ``verificationMethod``.

    Raises :class:`ProofError` on any failure.  ``document`` is not modified.
    """
    proof = document.get("proof")
    if proof is None:
        raise ProofError("The document has no proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise ProofError(f"The document has {len(proof)} proofs; exactly one is supported")
        proof = proof[0]
    if not isinstance(proof, Mapping):
        raise ProofError("The proof must be a JSON object")
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method:
        raise ProofError("The proof has no verificationMethod")
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"Proof type {proof.get('type')!r} is not supported; expected {PROOF_TYPE}", method)
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(
            f"Cryptosuite {proof.get('cryptosuite')!r} is not supported; expected {CRYPTOSUITE}", method
        )
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        raise ProofError(f"proofPurpose must be {PROOF_PURPOSE}, not {proof.get('proofPurpose')!r}", method)
    now = _aware(now) if now else datetime.now(UTC)
    created = None
    if "created" in proof:
        created = _parse_datetime(proof["created"], "created", method)
        if created > now + _CLOCK_MARGIN:
            raise ProofError(f"The proof was created in the future ({proof['created']})", method)
    if "expires" in proof and _parse_datetime(proof["expires"], "expires", method) < now:
        raise ProofError(f"The proof expired at {proof['expires']}", method)
    signature = _decode_proof_value(proof.get("proofValue"), method)

    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    signature_obj = unsecured.get("signature")
    if isinstance(signature_obj, Mapping) and signature_obj.get("type") == "RsaSignature2017":
        # FEP-8b32: a legacy LD signature is added after the proof and must be removed first.
        del unsecured["signature"]
    if "@context" in options:
        if not _context_starts_with(unsecured.get("@context"), options["@context"]):
            raise ProofError("The document's @context does not begin with the proof's @context", method)
        unsecured["@context"] = options["@context"]

    public_key = public_key_resolver(method)
    if public_key is None:
        raise ProofError(f"No public key is known for verificationMethod {method}", method)
    _check_not_revoked(getattr(public_key, "revoked", None), created, method)
    try:
        verify_key = load_ed25519_verify_key(public_key)
    except KeyFormatError as exc:
        raise ProofError(f"The key of {method} is unusable: {exc}", method) from exc
    try:
        verify_key.verify(_hash_data(unsecured, options), signature)
    except nacl.exceptions.BadSignatureError:
        raise ProofError(
            f"The proof does not match the document: it was altered after signing, or not signed "
            f"by {method}", method,
        ) from None
    return method


def _check_not_revoked(revoked: datetime | None, created: datetime | None, method: str) -> None:
    """A revoked key still vouches for what it signed before its revocation, and for nothing
    signed later.  ``created`` is the signer's word; it is all a verifier has."""
    if revoked is None:
        return
    when = _format_datetime(revoked)
    if created is None:
        raise ProofError(f"The key {method} was revoked at {when} and the proof has no created "
                         "time to show that it was made before", method)
    if created >= _aware(revoked):
        raise ProofError(f"The proof was created at {_format_datetime(created)}, after the key {method} "
                         f"was revoked at {when}", method)


def _hash_data(unsecured: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    config = dict(options)
    if "@context" in unsecured:
        config["@context"] = unsecured["@context"]
    try:
        return hashlib.sha256(_jcs(config)).digest() + hashlib.sha256(_jcs(unsecured)).digest()
    except rfc8785.CanonicalizationError as exc:
        raise ProofError(f"The document cannot be canonicalised (RFC 8785): {exc}") from exc


def _jcs(value: Any) -> bytes:
    return rfc8785.dumps(value)


def _context_starts_with(document_context: Any, proof_context: Any) -> bool:
    def as_list(value: Any) -> list:
        return value if isinstance(value, list) else [value]

    doc, prefix = as_list(document_context), as_list(proof_context)
    return len(doc) >= len(prefix) and doc[: len(prefix)] == prefix


def _decode_proof_value(value: Any, method: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("proofValue must be a multibase base58btc string (starting with 'z')", method)
    try:
        raw = base58.b58decode(value[1:])
    except ValueError as exc:
        raise ProofError(f"proofValue is not valid base58btc: {exc}", method) from exc
    if len(raw) != 64:
        raise ProofError(f"proofValue holds {len(raw)} bytes; an Ed25519 signature is 64", method)
    return raw


def _format_datetime(value: datetime | None) -> str:
    value = datetime.now(UTC) if value is None else _aware(value)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_datetime(value: Any, name: str, method: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ProofError(f"{name} {value!r} is not an XML Schema dateTime", method) from None
    if parsed.tzinfo is None:
        raise ProofError(f"{name} {value!r} has no time zone", method)
    return parsed


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value
