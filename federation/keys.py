"""Key material for federation.

Two kinds of keys, for two jobs:

* RSA-2048 (``cryptography``) for HTTP signatures, because that is what Mastodon and most of the
  fediverse verify; published as the actor's ``publicKey.publicKeyPem`` (SPKI PEM).
* Ed25519 (PyNaCl) for FEP-8b32 object proofs, published as a FEP-521a ``Multikey``
  (``publicKeyMultibase``).  The private half is stored as its 32-byte seed in hex, which is the
  smallest form that round-trips and is easy to put in a config file or a database column.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

import base58
import nacl.exceptions
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "KeyFormatError",
    "NodeKeys",
    "decode_multikey",
    "ed25519_public_multibase",
    "ed25519_seed_from_multibase",
    "ed25519_signing_key",
    "encode_multikey",
    "generate_ed25519_seed_hex",
    "generate_rsa_private_pem",
    "load_ed25519_verify_key",
    "load_rsa_private_key",
    "load_rsa_public_key",
    "rsa_public_pem",
]

RSA_KEY_SIZE = 2048
# Multicodec varint prefixes (https://github.com/multiformats/multicodec, table.csv).
ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"
# Parsed keys are cheap to keep and costly to re-parse on every inbox POST; the bound keeps a
# flood of distinct keyIds from growing memory without limit.
_CACHE_SIZE = 2048


class KeyFormatError(ValueError):
    """A key could not be parsed; the message says what was wrong with it."""


# --- RSA (HTTP signatures) -----------------------------------------------------------------------


def generate_rsa_private_pem(bits: int = RSA_KEY_SIZE) -> str:
    """A new RSA private key as unencrypted PKCS#8 PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@functools.lru_cache(maxsize=64)
def load_rsa_private_key(private_pem: str) -> rsa.RSAPrivateKey:
    """Parse a PKCS#1 or PKCS#8 PEM RSA private key (unencrypted)."""
    try:
        key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise KeyFormatError(f"not a readable unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(f"expected an RSA private key, got {type(key).__name__}")
    return key


def rsa_public_pem(private_pem: str) -> str:
    """The SPKI PEM ("BEGIN PUBLIC KEY") of a private key, the form actors publish."""
    public = load_rsa_private_key(private_pem).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def load_rsa_public_key(public_pem: str) -> rsa.RSAPublicKey:
    """Parse an SPKI or PKCS#1 PEM RSA public key; cached by PEM text."""
    try:
        key = serialization.load_pem_public_key(public_pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise KeyFormatError(f"not a readable PEM public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(f"expected an RSA public key, got {type(key).__name__}")
    return key


# --- Ed25519 (object proofs) ---------------------------------------------------------------------


def generate_ed25519_seed_hex() -> str:
    """A new Ed25519 private key, as its 32-byte seed in hex."""
    return secrets.token_bytes(32).hex()


def _seed_bytes(seed_hex: str) -> bytes:
    try:
        seed = bytes.fromhex(seed_hex)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError("an Ed25519 seed must be 64 hexadecimal characters") from exc
    if len(seed) != 32:
        raise KeyFormatError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
    return seed


@functools.lru_cache(maxsize=64)
def ed25519_signing_key(seed_hex: str) -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(_seed_bytes(seed_hex))


def encode_multikey(public_key: bytes) -> str:
    """Ed25519 public key bytes -> ``publicKeyMultibase`` (``z`` + base58btc(0xed01 + key))."""
    if len(public_key) != 32:
        raise KeyFormatError(f"an Ed25519 public key is 32 bytes, got {len(public_key)}")
    return "z" + base58.b58encode(ED25519_PUB_PREFIX + public_key).decode("ascii")


def _decode_multibase(value: str, prefix: bytes, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise KeyFormatError(f"{what} must be multibase base58btc (start with 'z')")
    try:
        raw = base58.b58decode(value[1:])
    except ValueError as exc:
        raise KeyFormatError(f"{what} is not valid base58btc: {exc}") from exc
    if raw[:2] != prefix:
        raise KeyFormatError(
            f"{what} has multicodec prefix 0x{raw[:2].hex()}, expected 0x{prefix.hex()}"
        )
    if len(raw) != 34:
        raise KeyFormatError(f"{what} holds {len(raw) - 2} key bytes, expected 32")
    return raw[2:]


def decode_multikey(public_key_multibase: str) -> bytes:
    """``publicKeyMultibase`` -> 32 raw Ed25519 public key bytes; rejects any other codec."""
    return _decode_multibase(public_key_multibase, ED25519_PUB_PREFIX, "publicKeyMultibase")


@functools.lru_cache(maxsize=_CACHE_SIZE)
def load_ed25519_verify_key(public_key_multibase: str) -> nacl.signing.VerifyKey:
    """Parse a Multikey into a PyNaCl verify key; cached by its text."""
    try:
        return nacl.signing.VerifyKey(decode_multikey(public_key_multibase))
    except nacl.exceptions.CryptoError as exc:  # pragma: no cover - 32 bytes always load
        raise KeyFormatError(f"not an Ed25519 public key: {exc}") from exc


def ed25519_public_multibase(seed_hex: str) -> str:
    return encode_multikey(bytes(ed25519_signing_key(seed_hex).verify_key))


def ed25519_seed_from_multibase(secret_key_multibase: str) -> str:
    """Import a multibase ``ed25519-priv`` (0x8026) secret key, as other tools export it."""
    return _decode_multibase(secret_key_multibase, ED25519_PRIV_PREFIX, "secret key").hex()


# --- Both, for one actor or node -----------------------------------------------------------------


@dataclass(frozen=True)
class NodeKeys:
    """The key material of one actor: what ``civicnode init`` stores for the node actor."""

    rsa_private_pem: str
    rsa_public_pem: str
    ed25519_seed_hex: str
    ed25519_public_multibase: str

    @classmethod
    def generate(cls) -> NodeKeys:
        private_pem = generate_rsa_private_pem()
        seed_hex = generate_ed25519_seed_hex()
        return cls(
            rsa_private_pem=private_pem,
            rsa_public_pem=rsa_public_pem(private_pem),
            ed25519_seed_hex=seed_hex,
            ed25519_public_multibase=ed25519_public_multibase(seed_hex),
        )

    @classmethod
    def from_private(cls, rsa_private_pem: str, ed25519_seed_hex: str) -> NodeKeys:
        """Rebuild the public halves from stored private material (and validate it)."""
        return cls(
            rsa_private_pem=rsa_private_pem,
            rsa_public_pem=rsa_public_pem(rsa_private_pem),
            ed25519_seed_hex=ed25519_seed_hex,
            ed25519_public_multibase=ed25519_public_multibase(ed25519_seed_hex),
        )

    def __repr__(self) -> str:
        # Keep private keys out of logs and tracebacks.
        return f"NodeKeys(ed25519_public_multibase={self.ed25519_public_multibase!r}, rsa=...)"
