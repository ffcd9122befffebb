"""The emergency card through the generated Python bindings against a real phr-server:
the mother makes a card for herself; an emergency team reads it with nothing but the link
(the SMART Health Links manifest request over plain HTTP, the JWE opened with the
`cryptography` package's AES-GCM, not with our code); her next sync reports the access;
withdrawing the card kills the link."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from test_family_scenarios import MOTHER, registered_mother, visit

ER = "ER night shift, Example General"


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def manifest_request(url: str, body: dict):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def open_jwe(jwe: str, key: bytes) -> tuple[dict, bytes]:
    """A compact JWE with alg dir and enc A256GCM (RFC 7516): the protected header is the AAD."""
    header_b64, encrypted_key, iv, ciphertext, tag = jwe.split(".")
    assert encrypted_key == "", "dir: no encrypted key"
    plain = AESGCM(key).decrypt(unb64u(iv), unb64u(ciphertext) + unb64u(tag), header_b64.encode("ascii"))
    return json.loads(unb64u(header_b64)), plain


def test_an_er_reads_the_mothers_card_with_the_link_alone_and_her_next_sync_reports_it(phr, server, phone):
    mother, _ = registered_mother(server, phone)
    mother.client.add_record(MOTHER, visit("2026-11-01", "Sakura Maternity Clinic", "all well"))
    mother.client.sync(None)

    card = mother.client.create_emergency_card(MOTHER, None, "Hanako Yamada")
    assert card.shlink.startswith("shlink:/") and card.active and not card.passcode
    payload = json.loads(unb64u(card.shlink[len("shlink:/"):]))
    assert payload["flag"] == "L" and payload["label"] == "Hanako Yamada" and len(payload["key"]) == 43

    manifest = manifest_request(payload["url"], {"recipient": ER})
    assert manifest["status"] == "can-change"
    header, plain = open_jwe(manifest["files"][0]["embedded"], unb64u(payload["key"]))
    assert header == {"alg": "dir", "enc": "A256GCM", "cty": "application/fhir+json"}
    document = json.loads(plain)
    assert document["resourceType"] == "Bundle" and document["type"] == "document"
    assert document["entry"][0]["resource"]["resourceType"] == "Composition"

    report = mother.client.sync(None)
    assert [(a.recipient, a.granted, a.card_id) for a in report.emergency_accesses] == [(ER, True, card.card_id)]
    assert mother.client.list_emergency_cards()[0].accesses == 1
    assert "<svg" in mother.client.emergency_card_svg(card.card_id)

    mother.client.withdraw_emergency_card(card.card_id)
    try:
        manifest_request(payload["url"], {"recipient": ER})
        raise AssertionError("a withdrawn card still answers")
    except urllib.error.HTTPError as e:
        assert e.code == 404
        assert json.load(e)["detail"]
