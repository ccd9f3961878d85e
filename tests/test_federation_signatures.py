"""HTTP signatures: Mastodon's published vectors, tampering, our own signing, and interop.

Uses no node/ fixture: federation/ is a standalone protocol library.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
from pathlib import Path
from urllib.parse import urlsplit

import httpsig.utils
import pytest
from apsig.draft.sign import Signer as ApsigSigner
from apsig.draft.verify import Verifier as ApsigVerifier
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from http_message_signatures import HTTPMessageSigner, algorithms
from http_message_signatures.digests import ContentDigest

from federation.keys import (
    KeyFormatError,
    NodeKeys,
    load_rsa_private_key,
    load_rsa_public_key,
    rsa_public_pem,
)
from federation.signatures import (
    SignatureError,
    digest_header,
    sign_request,
    signature_key_id,
    verify_request,
)

VECTORS = json.loads((Path(__file__).parent / "data" / "federation_vectors.json").read_text())
MASTODON = VECTORS["mastodon_key"]
KEY_ID = MASTODON["keyId"]
VECTOR_TIME = dt.datetime(2023, 12, 20, 10, 0, tzinfo=dt.UTC)
CAVAGE = {v["name"]: v for v in VECTORS["mastodon_draft_cavage"]}
RFC9421 = {v["name"]: v for v in VECTORS["mastodon_rfc9421"]}


def mastodon_key(key_id: str) -> str | None:
    return MASTODON["public_key_pem"] if key_id == KEY_ID else None


def cavage_request(name: str):
    v = CAVAGE[name]
    headers = {"Host": v["host"], "Date": v["date"], "Signature": v["signature_header"]}
    if v["digest"]:
        headers["Digest"] = v["digest"]
    body = v["body"].encode() if v["body"] is not None else None
    return v["method"], v["path"], headers, body


def rfc9421_request(name: str):
    v = RFC9421[name]
    url = urlsplit(v["target_uri"])
    headers = {"Host": url.netloc, "Signature-Input": v["signature_input"], "Signature": v["signature"]}
    if v.get("content_digest"):
        headers["Content-Digest"] = v["content_digest"]
    body = v["body"].encode() if v.get("body") is not None else None
    return v["method"], url.path + (f"?{url.query}" if url.query else ""), headers, body


def reason(excinfo) -> str:
    return str(excinfo.value)


# --- Mastodon's draft-cavage vectors -------------------------------------------------------------


@pytest.mark.parametrize("name", ["get", "get_with_query", "post"])
def test_mastodon_cavage_vectors_verify(name):
    method, path, headers, body = cavage_request(name)
    result = verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert result.key_id == KEY_ID
    assert result.scheme == "draft-cavage"
    assert result.covered == tuple(CAVAGE[name]["signed_headers"])
    assert result.signed_at == VECTOR_TIME


@pytest.mark.parametrize("name", ["get", "get_with_query", "post"])
def test_our_signer_reproduces_mastodon_signatures(name):
    # RSASSA-PKCS1-v1_5 is deterministic: same key, same signing string -> same bytes.
    v = CAVAGE[name]
    body = v["body"].encode() if v["body"] is not None else None
    out = sign_request(
        v["method"], f"https://{v['host']}{v['path']}", {}, body, KEY_ID,
        MASTODON["private_key_pem"], now=VECTOR_TIME, signed_headers=v["signed_headers"],
    )
    assert out["Host"] == v["host"] and out["Date"] == v["date"]
    assert out.get("Digest") == v["digest"]
    params = httpsig.utils.parse_signature_header(out["Signature"])
    assert params["signature"] == v["signature"]
    assert params["headers"] == " ".join(v["signed_headers"])


def test_hs2019_algorithm_name_is_accepted():
    method, path, headers, body = cavage_request("post")
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="hs2019"')
    assert verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME).algorithm == "hs2019"


def test_unknown_algorithm_is_rejected():
    method, path, headers, body = cavage_request("get")
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", "rsa-sha1")
    with pytest.raises(SignatureError, match="rsa-sha1.*not supported") as exc:
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "unsupported"


def test_hs2019_with_created_pseudo_header():
    # Built with cryptography directly, independently of httpsig, as an hs2019 sender would.
    created = int(VECTOR_TIME.timestamp())
    signing_string = f"(request-target): get /users/alice\n(created): {created}\nhost: b.example"
    raw = load_rsa_private_key(MASTODON["private_key_pem"]).sign(
        signing_string.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    headers = {
        "Host": "b.example",
        "Signature": f'keyId="{KEY_ID}",algorithm="hs2019",created={created},'
        f'headers="(request-target) (created) host",signature="{base64.b64encode(raw).decode()}"',
    }
    ok = verify_request("GET", "/users/alice", headers, None, mastodon_key, now=VECTOR_TIME)
    assert ok.signed_at == VECTOR_TIME
    with pytest.raises(SignatureError, match=r"created is 2 h old; the limit is 1 h 05 min"):
        verify_request("GET", "/users/alice", headers, None, mastodon_key,
                       now=VECTOR_TIME + dt.timedelta(hours=2))


# --- tampering -----------------------------------------------------------------------------------


def test_other_body_fails_the_digest_check():
    method, path, headers, _ = cavage_request("post")
    with pytest.raises(SignatureError, match="^Digest header does not match the body$") as exc:
        verify_request(method, path, headers, b"Hello world!", mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "digest_mismatch"


def test_body_and_matching_digest_both_replaced_fails_the_signature():
    method, path, headers, _ = cavage_request("post")
    headers["Digest"] = digest_header(b"Goodbye")
    with pytest.raises(SignatureError) as exc:
        verify_request(method, path, headers, b"Goodbye", mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "bad_signature"


@pytest.mark.parametrize(
    "name,path",
    [("get", "/activitypub/failure"), ("get_with_query", "/activitypub/success?foo=43"),
     ("get_with_query", "/activitypub/success"), ("post", "/activitypub/success?x=1")],
)
def test_other_path_is_rejected(name, path):
    method, _, headers, body = cavage_request(name)
    with pytest.raises(SignatureError, match="does not match this request") as exc:
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "bad_signature" and exc.value.key_id == KEY_ID


@pytest.mark.parametrize("name,method", [("get", "DELETE"), ("get", "HEAD"), ("post", "PUT")])
def test_other_method_is_rejected(name, method):
    _, path, headers, body = cavage_request(name)
    with pytest.raises(SignatureError, match="does not match this request") as exc:
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "bad_signature"


def test_get_vector_replayed_as_post_is_rejected_for_missing_digest():
    _, path, headers, _ = cavage_request("get")
    with pytest.raises(SignatureError, match="must cover digest on a POST"):
        verify_request("POST", path, headers, b"{}", mastodon_key, now=VECTOR_TIME)


def test_other_host_is_rejected():
    method, path, headers, body = cavage_request("get")
    headers["Host"] = "evil.example"
    with pytest.raises(SignatureError, match="does not match"):
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)


@pytest.mark.parametrize("name", ["get", "post"])
def test_clock_window_edges(name):
    method, path, headers, body = cavage_request(name)
    for ok in (dt.timedelta(hours=1, minutes=4), -dt.timedelta(hours=1, minutes=4)):
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME + ok)
    with pytest.raises(SignatureError, match=r"^Date is 1 h 06 min old; the limit is 1 h 05 min$") as exc:
        verify_request(method, path, headers, body, mastodon_key,
                       now=VECTOR_TIME + dt.timedelta(hours=1, minutes=6))
    assert exc.value.code == "stale"
    with pytest.raises(SignatureError, match=r"^Date is 2 h old; the limit is 1 h 05 min$"):
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME + dt.timedelta(hours=2))
    with pytest.raises(SignatureError, match=r"^Date is 1 h 06 min in the future"):
        verify_request(method, path, headers, body, mastodon_key,
                       now=VECTOR_TIME - dt.timedelta(hours=1, minutes=6))


def test_window_is_configurable():
    method, path, headers, body = cavage_request("get")
    later = VECTOR_TIME + dt.timedelta(minutes=10)
    verify_request(method, path, headers, body, mastodon_key, now=later)
    with pytest.raises(SignatureError, match="Date is 10 min old; the limit is 5 min"):
        verify_request(method, path, headers, body, mastodon_key, now=later, max_skew=dt.timedelta(minutes=5))


def test_unsigned_digest_on_post_is_rejected():
    headers = sign_request(
        "POST", "https://www.example.com/inbox", {}, b"{}", KEY_ID, MASTODON["private_key_pem"],
        now=VECTOR_TIME, signed_headers=["(request-target)", "host", "date"],
    )
    assert "Digest" in headers  # present, correct, but not signed: a proxy could swap the body
    with pytest.raises(SignatureError, match=r"must cover digest on a POST request") as exc:
        verify_request("POST", "/inbox", headers, b"{}", mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "insufficient_coverage"


def test_unsigned_host_on_get_is_rejected():
    headers = sign_request(
        "GET", "https://www.example.com/users/bob", {}, None, KEY_ID, MASTODON["private_key_pem"],
        now=VECTOR_TIME, signed_headers=["(request-target)", "date"],
    )
    with pytest.raises(SignatureError, match=r"must cover host on a GET request"):
        verify_request("GET", "/users/bob", headers, None, mastodon_key, now=VECTOR_TIME)


def test_unsigned_request_target_is_rejected():
    headers = sign_request(
        "POST", "https://www.example.com/inbox", {}, b"{}", KEY_ID, MASTODON["private_key_pem"],
        now=VECTOR_TIME, signed_headers=["host", "date", "digest"],
    )
    with pytest.raises(SignatureError, match=r"must cover \(request-target\)"):
        verify_request("POST", "/inbox", headers, b"{}", mastodon_key, now=VECTOR_TIME)


def test_missing_signature_is_rejected():
    method, path, headers, body = cavage_request("post")
    del headers["Signature"]
    with pytest.raises(SignatureError, match="not signed") as exc:
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "missing"


def test_unknown_key_and_wrong_key():
    method, path, headers, body = cavage_request("get")
    with pytest.raises(SignatureError, match="No public key is known for keyId") as exc:
        verify_request(method, path, headers, body, lambda key_id: None, now=VECTOR_TIME)
    assert exc.value.code == "unknown_key"
    other = NodeKeys.generate().rsa_public_pem
    with pytest.raises(SignatureError) as exc:
        verify_request(method, path, headers, body, lambda key_id: other, now=VECTOR_TIME)
    assert exc.value.code == "bad_signature"


def test_corrupted_signature_value_is_rejected():
    method, path, headers, body = cavage_request("get")
    value = CAVAGE["get"]["signature"]
    headers["Signature"] = headers["Signature"].replace(value, "A" + value[1:])
    with pytest.raises(SignatureError) as exc:
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "bad_signature"


def test_signature_key_id_reads_both_schemes():
    assert signature_key_id(cavage_request("get")[2]) == KEY_ID
    assert signature_key_id(rfc9421_request("post")[2]) == KEY_ID
    assert signature_key_id({"Host": "x"}) is None


# --- RFC 9421 (Mastodon's vectors) ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["get", "get_with_query", "post"])
def test_mastodon_rfc9421_vectors_verify(name):
    method, path, headers, body = rfc9421_request(name)
    result = verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert (result.key_id, result.scheme, result.signed_at) == (KEY_ID, "rfc9421", VECTOR_TIME)
    assert "@target-uri" in result.covered
    assert ("content-digest" in result.covered) == (method == "POST")


def test_rfc9421_other_body_fails_content_digest():
    method, path, headers, _ = rfc9421_request("post")
    with pytest.raises(SignatureError, match="^Content-Digest header does not match the body") as exc:
        verify_request(method, path, headers, b"Hello world!", mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "digest_mismatch"


@pytest.mark.parametrize("name,path", [("get", "/activitypub/failure"), ("get_with_query", "/activitypub/success?foo=43")])
def test_rfc9421_other_path_is_rejected(name, path):
    method, _, headers, body = rfc9421_request(name)
    with pytest.raises(SignatureError) as exc:
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "bad_signature"


def test_rfc9421_other_method_and_host_are_rejected():
    _, path, headers, body = rfc9421_request("get")
    with pytest.raises(SignatureError):
        verify_request("DELETE", path, headers, body, mastodon_key, now=VECTOR_TIME)
    with pytest.raises(SignatureError):
        verify_request("GET", path, headers, body, mastodon_key, now=VECTOR_TIME, host="evil.example")


def test_rfc9421_clock_window():
    method, path, headers, body = rfc9421_request("post")
    verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME + dt.timedelta(hours=1, minutes=4))
    with pytest.raises(SignatureError, match=r"^created is 1 h 06 min old; the limit is 1 h 05 min$"):
        verify_request(method, path, headers, body, mastodon_key,
                       now=VECTOR_TIME + dt.timedelta(hours=1, minutes=6))


def test_rfc9421_unknown_key_and_missing_signature():
    method, path, headers, body = rfc9421_request("get")
    with pytest.raises(SignatureError) as exc:
        verify_request(method, path, headers, body, lambda key_id: None, now=VECTOR_TIME)
    assert exc.value.code == "unknown_key"
    del headers["Signature"]
    with pytest.raises(SignatureError):
        verify_request(method, path, headers, body, mastodon_key, now=VECTOR_TIME)


class _Msg:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


class _Keys:
    def resolve_private_key(self, key_id):
        return load_rsa_private_key(MASTODON["private_key_pem"])


def _rfc9421_sign(method, url, components, body=None):
    message = _Msg(method, url, {"Host": urlsplit(url).netloc})
    if body is not None:
        message.headers["Content-Digest"] = ContentDigest.create(body)
    HTTPMessageSigner(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_Keys()).sign(
        message, key_id=KEY_ID, created=VECTOR_TIME, covered_component_ids=components, label="sig1",
        use_existing_digest=body is not None,
    )
    return message.headers


def test_rfc9421_post_without_signed_content_digest_is_rejected():
    # Signed by the library's own signer; the Content-Digest is right but not covered.
    headers = _rfc9421_sign("POST", "https://www.example.com/inbox", ("@method", "@target-uri"), b"{}")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", "/inbox", headers, b"{}", mastodon_key, now=VECTOR_TIME)
    assert "content-digest" in str(exc.value).lower()


def test_rfc9421_get_without_target_is_rejected():
    headers = _rfc9421_sign("GET", "https://www.example.com/users/bob", ("@method",))
    with pytest.raises(SignatureError, match="must cover @target-uri") as exc:
        verify_request("GET", "/users/bob", headers, None, mastodon_key, now=VECTOR_TIME)
    assert exc.value.code == "insufficient_coverage"


def test_rfc9421_from_independent_signer_verifies():
    headers = _rfc9421_sign("POST", "https://www.example.com/inbox", ("@method", "@target-uri", "content-digest"), b"{}")
    assert verify_request("POST", "/inbox", headers, b"{}", mastodon_key, now=VECTOR_TIME).key_id == KEY_ID


# --- our own signatures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_keys():
    return NodeKeys.generate()


def test_node_keys_are_consistent(node_keys):
    assert node_keys.rsa_private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert node_keys.rsa_public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert rsa_public_pem(node_keys.rsa_private_pem) == node_keys.rsa_public_pem
    assert load_rsa_public_key(node_keys.rsa_public_pem).key_size == 2048
    assert node_keys.rsa_private_pem not in repr(node_keys)
    # Parsed once, then served from the cache.
    assert load_rsa_public_key(node_keys.rsa_public_pem) is load_rsa_public_key(node_keys.rsa_public_pem)
    assert NodeKeys.from_private(node_keys.rsa_private_pem, node_keys.ed25519_seed_hex) == node_keys
    with pytest.raises(KeyFormatError):
        load_rsa_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_round_trip_post_and_get(node_keys):
    key_id = "https://a.example/actor#main-key"
    resolver = {key_id: node_keys.rsa_public_pem}.get
    body = json.dumps({"type": "Like", "actor": "https://a.example/actor"}).encode()
    headers = sign_request("POST", "https://b.example/spaces/park/inbox", {"Content-Type": "application/activity+json"},
                           body, key_id, node_keys.rsa_private_pem)
    assert headers["Content-Type"] == "application/activity+json"
    assert headers["Digest"] == digest_header(body)
    params = httpsig.utils.parse_signature_header(headers["Signature"])
    assert params["headers"] == "(request-target) host date digest"
    assert verify_request("POST", "/spaces/park/inbox", headers, body, resolver).key_id == key_id

    headers = sign_request("GET", "https://b.example:8443/users/x?page=2", None, None, key_id, node_keys.rsa_private_pem)
    assert headers["Host"] == "b.example:8443" and "Digest" not in headers
    assert httpsig.utils.parse_signature_header(headers["Signature"])["headers"] == "(request-target) host date"
    assert verify_request("GET", "/users/x?page=2", headers, None, resolver).covered[0] == "(request-target)"
    with pytest.raises(SignatureError):
        verify_request("GET", "/users/x?page=3", headers, None, resolver)


def test_date_is_an_http_date(node_keys):
    when = dt.datetime(2024, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    headers = sign_request("GET", "https://b.example/", {}, None, "k", node_keys.rsa_private_pem, now=when)
    assert headers["Date"] == "Fri, 01 Mar 2024 06:30:00 GMT"
    assert email.utils.parsedate_to_datetime(headers["Date"]) == when


# --- interop with apsig (an independent implementation) ------------------------------------------


def test_apsig_verifies_our_post(node_keys):
    key_id = "https://a.example/users/alice#main-key"
    body = b'{"type":"Create","id":"https://a.example/activities/1"}'
    url = "https://b.example/inbox"
    headers = sign_request("POST", url, {"Content-Type": "application/activity+json"}, body, key_id,
                           node_keys.rsa_private_pem)
    assert ApsigVerifier(node_keys.rsa_public_pem, "POST", url, headers, body).verify(raise_on_fail=True) == key_id
    tampered = dict(headers, Digest=digest_header(b"{}"))
    assert ApsigVerifier(node_keys.rsa_public_pem, "POST", url, tampered, b"{}").verify() is None


def test_apsig_verifies_our_get(node_keys):
    # apsig builds (request-target) from the path only, so this uses a URL without a query.
    key_id = "https://a.example/actor#main-key"
    url = "https://b.example/users/bob"
    headers = sign_request("GET", url, {}, None, key_id, node_keys.rsa_private_pem)
    assert ApsigVerifier(node_keys.rsa_public_pem, "GET", url, headers).verify(raise_on_fail=True) == key_id


def test_we_verify_apsig_signatures(node_keys):
    key_id = "https://c.example/actor#main-key"
    body = b'{"type":"Follow"}'
    headers = ApsigSigner({"Content-Type": "application/activity+json"}, load_rsa_private_key(node_keys.rsa_private_pem),
                          "POST", "https://b.example/inbox", key_id, body).sign()
    result = verify_request("POST", "/inbox", headers, body, {key_id: node_keys.rsa_public_pem}.get)
    assert result.key_id == key_id and "digest" in result.covered
    with pytest.raises(SignatureError, match="Digest header does not match the body"):
        verify_request("POST", "/inbox", headers, b'{"type":"Block"}', {key_id: node_keys.rsa_public_pem}.get)
