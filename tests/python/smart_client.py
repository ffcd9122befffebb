#!/usr/bin/env python3
"""A SMART Backend Services client written independently of the server's
Rust code (PyJWT + cryptography), run against a real phr-server.

It follows SMART App Launch 2.x "Backend Services" (and RFC 7523 / RFC 6749)
to the letter, the way a standard Bulk Data 2.0 client authenticates:

- the client's JWKS is registered with the server (`phr-server org add
  --jwks-file`): one RS384 and one ES384 public key, each with `kid` and `alg`;
- the token endpoint is discovered from `<FHIR base>/.well-known/smart-configuration`
  (the FHIR base is `<server>/fhir/r4`; SMART App Launch 2.x places the file
  relative to the FHIR base URL), which must equal the origin's
  `/.well-known/smart-configuration`;
- the client assertion is a JWT with header `alg`, `kid`, `typ: JWT` and claims
  `iss` = `sub` = client_id, `aud` = that token URL, `exp` at most 5 minutes
  ahead and a fresh `jti`;
- it is POSTed as `application/x-www-form-urlencoded` with
  `grant_type=client_credentials`, `client_assertion_type`, `client_assertion`
  and `scope=system/Observation.rs`.

Then it checks what the spec says a server must refuse (a replayed jti, the
wrong aud, a foreign or missing kid, an alg other than the key's, a too-long
or passed exp, iss != sub, ...) and how (OAuth 2.0 error JSON, no caching).

    python3 tests/python/smart_client.py target/debug/phr-server

When the build serves the FHIR API (`/fhir/r4`), it also reads the
CapabilityStatement and searches Observations with the token (without one: 401
with `WWW-Authenticate: Bearer`; with a Patient-only scope: 403); every FHIR
response is written to `$PHR_FHIR_DUMP_DIR` when set, for fhir_validate.py.

Prints one line per check and `smart_client: N passed, N failed, N skipped`;
exit status 0 only when no check failed.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

CLIENT_ID = "python-clinic"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCOPE = "system/Observation.rs"
FORM = "application/x-www-form-urlencoded"


def public_jwk(algorithm, public_key, kid, alg):
    jwk = json.loads(algorithm.to_jwk(public_key))
    jwk.update({"kid": kid, "alg": alg, "use": "sig", "key_ops": ["verify"]})
    return jwk


from serverproc import clean_env, start_server  # noqa: E402


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def http(url, data=None, content_type=None, method=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Response(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, err.headers, err.read())


class Skip(Exception):
    """A check that does not apply to this build."""


DUMPED = []


def dump(resp, name):
    """The FHIR JSON of a response; also written to $PHR_FHIR_DUMP_DIR/<name>-<n>.json
    when that is set, for tests/python/fhir_validate.py."""
    body = resp.json()
    out = os.environ.get("PHR_FHIR_DUMP_DIR")
    if out:
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, f"smart_client-{name}-{len(DUMPED)}.json")
        with open(path, "w") as f:
            json.dump(body, f, ensure_ascii=False, indent=1)
        DUMPED.append(path)
    return body


class Client:
    """A backend services client: its keys, its client_id and the discovered token URL."""

    def __init__(self, token_url, rsa_key, ec_key):
        self.token_url = token_url
        self.keys = {"RS384": (rsa_key, "py-rsa"), "ES384": (ec_key, "py-ec")}

    def claims(self, **overrides):
        now = int(time.time())
        claims = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": self.token_url, "exp": now + 240,
                  "jti": str(uuid.uuid4())}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def assertion(self, alg="ES384", key=None, kid=None, sign_alg=None, **claims):
        own_key, own_kid = self.keys[alg]
        headers = {"typ": "JWT"}
        kid = own_kid if kid is None else kid
        if kid:
            headers["kid"] = kid
        return jwt.encode(self.claims(**claims), key or own_key, algorithm=sign_alg or alg, headers=headers)

    def token(self, signed, scope=SCOPE, content_type=FORM, **extra):
        params = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                  "client_assertion": signed, "scope": scope}
        params.update(extra)
        params = {k: v for k, v in params.items() if v is not None}
        return http(self.token_url, urllib.parse.urlencode(params).encode(), content_type, "POST")


def assert_oauth_error(resp, status, error, what):
    assert resp.status == status, f"{what}: expected {status} {error}, got {resp.status} {resp.body!r}"
    body = resp.json()
    assert body.get("error") == error, f"{what}: expected error {error}, got {body}"
    assert isinstance(body.get("error_description", ""), str), body
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    assert "no-store" in resp.headers.get("Cache-Control", ""), f"{what}: error responses must not be cached"


def assert_token(resp, scope, what):
    assert resp.status == 200, f"{what}: {resp.status} {resp.body!r}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    # RFC 6749 §5.1: MUST include Cache-Control: no-store and Pragma: no-cache.
    assert resp.headers.get("Cache-Control") == "no-store", resp.headers
    assert resp.headers.get("Pragma") == "no-cache", resp.headers
    body = resp.json()
    assert isinstance(body.get("access_token"), str) and body["access_token"], body
    assert body["token_type"].lower() == "bearer", body
    assert body["scope"] == scope, body
    assert isinstance(body["expires_in"], int) and 0 < body["expires_in"] <= 300, body
    return body


def checks(base_url, rsa_key, ec_key, other_ec_key):
    """(name, function) pairs; each function raises AssertionError on a deviation."""
    state = {}

    def discovery():
        # As a SMART client given the FHIR base URL: <fhir base>/.well-known/smart-configuration.
        resp = http(base_url + "/fhir/r4/.well-known/smart-configuration")
        assert resp.status == 200, resp.status
        assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
        config = resp.json()
        at_origin = http(base_url + "/.well-known/smart-configuration")
        assert at_origin.status == 200 and at_origin.json() == config, (at_origin.status, at_origin.body)
        assert config["token_endpoint"] == base_url + "/auth/token", config
        assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"], config
        assert {"RS384", "ES384"} <= set(config["token_endpoint_auth_signing_alg_values_supported"]), config
        assert "client_credentials" in config["grant_types_supported"], config
        assert {"client-confidential-asymmetric", "permission-v2"} <= set(config["capabilities"]), config
        assert SCOPE in config["scopes_supported"], config
        state["client"] = Client(config["token_endpoint"], rsa_key, ec_key)

    def client():
        assert "client" in state, "discovery failed"
        return state["client"]

    def rs384_and_es384_assertions_get_tokens_for_system_observation_rs():
        for alg in ("RS384", "ES384"):
            assert_token(client().token(client().assertion(alg)), SCOPE, alg)

    def a_form_content_type_with_charset_is_accepted():
        resp = client().token(client().assertion(), content_type=FORM + "; charset=UTF-8")
        assert_token(resp, SCOPE, "charset")

    def an_aud_array_holding_the_token_url_is_accepted():
        # RFC 7519 §4.1.3: aud may be an array; the token URL must be one of its values.
        assert_token(client().token(client().assertion(aud=[client().token_url])), SCOPE, "aud array")

    def a_client_id_parameter_equal_to_iss_is_accepted():
        assert_token(client().token(client().assertion(), client_id=CLIENT_ID), SCOPE, "client_id")

    def a_replayed_jti_is_refused():
        signed = client().assertion("RS384")
        assert_token(client().token(signed), SCOPE, "first use")
        assert_oauth_error(client().token(signed), 401, "invalid_client", "replay")
        # The same jti in a newly signed assertion is a replay too.
        jti = jwt.decode(signed, options={"verify_signature": False})["jti"]
        assert_oauth_error(client().token(client().assertion("ES384", jti=jti)), 401, "invalid_client", "same jti")

    def an_assertion_without_jti_is_refused():
        assert_oauth_error(client().token(client().assertion(jti=None)), 401, "invalid_client", "no jti")

    def aud_other_than_the_token_url_is_refused():
        for aud in (base_url, base_url + "/.well-known/smart-configuration", client().token_url + "/"):
            assert_oauth_error(client().token(client().assertion(aud=aud)), 401, "invalid_client", f"aud {aud}")
        assert_oauth_error(client().token(client().assertion(aud=None)), 401, "invalid_client", "no aud")

    def kid_selects_the_key_and_a_wrong_or_missing_kid_is_refused():
        c = client()
        # The RSA signature under the EC key's kid, an unknown kid, no kid at all.
        assert_oauth_error(c.token(c.assertion("RS384", kid="py-ec")), 401, "invalid_client", "other key's kid")
        assert_oauth_error(c.token(c.assertion("ES384", kid="nope")), 401, "invalid_client", "unknown kid")
        assert_oauth_error(c.token(c.assertion("ES384", kid="")), 401, "invalid_client", "no kid")
        # A key the client never registered, claiming a registered kid.
        assert_oauth_error(c.token(c.assertion("ES384", key=other_ec_key)), 401, "invalid_client", "foreign key")

    def an_alg_other_than_the_keys_alg_is_refused():
        c = client()
        # The registered RSA key declares alg RS384: RS256 / PS384 with it are refused.
        assert_oauth_error(c.token(c.assertion("RS384", sign_alg="RS256")), 401, "invalid_client", "RS256")
        assert_oauth_error(c.token(c.assertion("RS384", sign_alg="PS384")), 401, "invalid_client", "PS384")
        unsigned = jwt.encode(c.claims(), key=None, algorithm="none", headers={"kid": "py-ec"})
        assert_oauth_error(c.token(unsigned), 401, "invalid_client", "alg none")

    def exp_beyond_5_minutes_or_in_the_past_is_refused():
        now = int(time.time())
        c = client()
        assert_oauth_error(c.token(c.assertion(exp=now + 900)), 401, "invalid_client", "exp in 15 min")
        assert_oauth_error(c.token(c.assertion(exp=now - 600)), 401, "invalid_client", "expired")
        assert_oauth_error(c.token(c.assertion(exp=None)), 401, "invalid_client", "no exp")

    def iss_and_sub_must_both_be_the_client_id():
        c = client()
        assert_oauth_error(c.token(c.assertion(sub="someone-else")), 401, "invalid_client", "sub")
        assert_oauth_error(c.token(c.assertion(iss="unknown-client", sub="unknown-client")), 401,
                           "invalid_client", "unknown client")
        assert_oauth_error(c.token(c.assertion(), client_id="another-client"), 401, "invalid_client", "client_id")

    def scopes_are_granted_in_the_syntax_asked_or_refused_as_invalid_scope():
        c = client()
        # SMART v1 syntax is understood and granted in the syntax asked.
        assert_token(c.token(c.assertion(), scope="system/Observation.read"), "system/Observation.read", "v1 scope")
        # Scopes the server cannot grant are dropped; the rest is granted.
        assert_token(c.token(c.assertion(), scope=f"{SCOPE} patient/Observation.rs launch"), SCOPE, "mixed")
        assert_oauth_error(c.token(c.assertion(), scope="patient/Observation.rs"), 400, "invalid_scope", "patient/")
        assert_oauth_error(c.token(c.assertion(), scope="system/Pregnancy.rs"), 400, "invalid_scope", "unserved")

    def malformed_token_requests_get_oauth_errors():
        c = client()
        assert_oauth_error(c.token(c.assertion(), grant_type="authorization_code"), 400, "unsupported_grant_type",
                           "grant_type")
        assert_oauth_error(c.token(c.assertion(), grant_type=None), 400, "invalid_request", "no grant_type")
        assert_oauth_error(c.token(c.assertion(), client_assertion_type="urn:x"), 401, "invalid_client", "type")
        assert_oauth_error(c.token(None), 401, "invalid_client", "no assertion")
        assert_oauth_error(c.token("not.a.jwt"), 401, "invalid_client", "junk assertion")
        assert_oauth_error(c.token(c.assertion(), content_type="application/json"), 400, "invalid_request", "json")

    def the_access_token_opens_the_fhir_api_and_its_absence_is_401():
        # Skipped (not passed) while this build has no FHIR API.
        fhir = base_url + "/fhir/r4"
        meta = http(fhir + "/metadata", method="GET")
        if meta.status == 404:
            raise Skip("no /fhir/r4 in this build")
        assert meta.status == 200, (meta.status, meta.body)
        statement = dump(meta, "metadata")
        assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1", statement
        # SMART on FHIR declared on rest.security: the service coding and the oauth-uris token endpoint.
        security = statement["rest"][0]["security"]
        codings = [c for s in security["service"] for c in s["coding"]]
        assert {"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR"} in codings, security
        oauth = [e for e in security.get("extension", [])
                 if e["url"] == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"]
        assert len(oauth) == 1, security
        token_uris = [e["valueUri"] for e in oauth[0]["extension"] if e["url"] == "token"]
        assert token_uris == [client().token_url], security
        c = client()
        token = assert_token(c.token(c.assertion("RS384")), SCOPE, "token")["access_token"]
        search = fhir + "/Observation?patient=Patient/unknown"
        resp = http(search, method="GET", headers={"Authorization": f"Bearer {token}"})
        assert resp.status in (200, 403, 404), (resp.status, resp.body)
        found = dump(resp, "observation-search")
        assert found["resourceType"] == ("Bundle" if resp.status == 200 else "OperationOutcome"), found
        for headers, what in (({}, "no token"), ({"Authorization": "Bearer not.a.token"}, "junk token")):
            resp = http(search, method="GET", headers=headers)
            assert resp.status == 401, (what, resp.status, resp.body)
            assert resp.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), (what, resp.headers)
            if resp.body:
                assert dump(resp, "unauthorized")["resourceType"] == "OperationOutcome", resp.body
        # A token scoped to Patient only may not search Observations (403).
        narrow = c.token(c.assertion(), scope="system/Patient.rs")
        narrow = assert_token(narrow, "system/Patient.rs", "narrow")["access_token"]
        resp = http(search, method="GET", headers={"Authorization": f"Bearer {narrow}"})
        assert resp.status == 403, (resp.status, resp.body)
        assert dump(resp, "forbidden")["resourceType"] == "OperationOutcome", resp.body

    return [(f.__name__, f) for f in [
        discovery,
        rs384_and_es384_assertions_get_tokens_for_system_observation_rs,
        a_form_content_type_with_charset_is_accepted,
        an_aud_array_holding_the_token_url_is_accepted,
        a_client_id_parameter_equal_to_iss_is_accepted,
        a_replayed_jti_is_refused,
        an_assertion_without_jti_is_refused,
        aud_other_than_the_token_url_is_refused,
        kid_selects_the_key_and_a_wrong_or_missing_kid_is_refused,
        an_alg_other_than_the_keys_alg_is_refused,
        exp_beyond_5_minutes_or_in_the_past_is_refused,
        iss_and_sub_must_both_be_the_client_id,
        scopes_are_granted_in_the_syntax_asked_or_refused_as_invalid_scope,
        malformed_token_requests_get_oauth_errors,
        the_access_token_opens_the_fhir_api_and_its_absence_is_401,
    ]]


def main(binary):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    other_ec_key = ec.generate_private_key(ec.SECP384R1())
    jwks = {
        "keys": [
            public_jwk(RSAAlgorithm, rsa_key.public_key(), "py-rsa", "RS384"),
            public_jwk(ECAlgorithm, ec_key.public_key(), "py-ec", "ES384"),
        ]
    }
    passed = failed = skipped = 0
    with tempfile.TemporaryDirectory() as data_dir:
        jwks_file = os.path.join(data_dir, "jwks.json")
        with open(jwks_file, "w") as f:
            json.dump(jwks, f)
        subprocess.run(
            [binary, "org", "add", "--id", CLIENT_ID, "--name", "Python Clinic", "--kind", "clinic",
             "--purpose", "treatment", "--jwks-file", jwks_file, "--data-dir", data_dir],
            check=True,
            capture_output=True,
            env=clean_env(),
        )
        proc, base_url = start_server(binary, data_dir, ("--auth-rate-burst", "200"))
        try:
            for name, check in checks(base_url, rsa_key, ec_key, other_ec_key):
                try:
                    check()
                    passed += 1
                    print(f"ok   {name}")
                except Skip as why:
                    skipped += 1
                    print(f"skip {name}: {why}")
                except Exception as e:  # one failing check must not hide the others
                    failed += 1
                    print(f"FAIL {name}: {e}")
                    traceback.print_exc(limit=2, file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"smart_client: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: smart_client.py PATH/TO/phr-server")
    sys.exit(main(sys.argv[1]))
