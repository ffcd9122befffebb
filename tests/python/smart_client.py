#!/usr/bin/env python3
"""A SMART Backend Services client written independently of the server's
Rust code (PyJWT + cryptography), run against a real phr-server.

It starts `phr-server serve` on a free loopback port with a fresh data
directory, registers an organization with an RS384 and an ES384 key
(`phr-server org add --jwks-file`), discovers the token endpoint from
/.well-known/smart-configuration, gets access tokens the way SMART App Launch
2.x backend services clients do, and checks that a replayed assertion and a
too-long exp are refused with OAuth 2.0 errors.

    python3 tests/python/smart_client.py target/debug/phr-server

Exit status 0 on success; on failure an assertion names the step.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

CLIENT_ID = "python-clinic"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def public_jwk(algorithm, public_key, kid, alg):
    jwk = json.loads(algorithm.to_jwk(public_key))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def start_server(binary, data_dir):
    proc = subprocess.Popen(
        [binary, "--log-format", "json", "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PHR_")},
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise AssertionError(f"server exited with {proc.wait()} before listening")
        try:
            fields = json.loads(line).get("fields", {})
        except json.JSONDecodeError:
            continue
        if fields.get("message") == "listening":
            # Keep reading the log so the server never blocks on a full pipe.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, "http://" + fields["addr"]
    proc.kill()
    raise AssertionError("server did not listen within 60 s")


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, json.load(resp)


def post_form(url, params):
    body = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def assertion(private_key, alg, kid, token_url, exp_in=240, jti=None):
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": token_url,
        "exp": now + exp_in,
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid})


def request_token(token_url, signed, scope):
    return post_form(
        token_url,
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            "scope": scope,
        },
    )


def main(binary):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    jwks = {
        "keys": [
            public_jwk(RSAAlgorithm, rsa_key.public_key(), "py-rsa", "RS384"),
            public_jwk(ECAlgorithm, ec_key.public_key(), "py-ec", "ES384"),
        ]
    }
    with tempfile.TemporaryDirectory() as data_dir:
        jwks_file = os.path.join(data_dir, "jwks.json")
        with open(jwks_file, "w") as f:
            json.dump(jwks, f)
        subprocess.run(
            [binary, "org", "add", "--id", CLIENT_ID, "--name", "Python Clinic", "--kind", "clinic",
             "--purpose", "treatment", "--jwks-file", jwks_file, "--data-dir", data_dir],
            check=True,
            capture_output=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("PHR_")},
        )
        proc, base_url = start_server(binary, data_dir)
        try:
            status, config = get_json(base_url + "/.well-known/smart-configuration")
            assert status == 200, config
            token_url = config["token_endpoint"]
            assert token_url == base_url + "/auth/token", config
            assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"], config
            assert "client-confidential-asymmetric" in config["capabilities"], config

            for key, alg, kid in [(rsa_key, "RS384", "py-rsa"), (ec_key, "ES384", "py-ec")]:
                status, body = request_token(token_url, assertion(key, alg, kid, token_url), "system/Observation.rs")
                assert status == 200, (alg, body)
                assert body["token_type"].lower() == "bearer", body
                assert body["scope"] == "system/Observation.rs", body
                assert 0 < body["expires_in"] <= 300, body

            signed = assertion(ec_key, "ES384", "py-ec", token_url)
            assert request_token(token_url, signed, "system/*.rs")[0] == 200
            status, body = request_token(token_url, signed, "system/*.rs")
            assert (status, body.get("error")) == (401, "invalid_client"), ("replay", status, body)

            long_lived = assertion(rsa_key, "RS384", "py-rsa", token_url, exp_in=900)
            status, body = request_token(token_url, long_lived, "system/*.rs")
            assert (status, body.get("error")) == (401, "invalid_client"), ("exp > 5 min", status, body)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print("SMART Backend Services client (PyJWT): OK")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: smart_client.py PATH/TO/phr-server")
    main(sys.argv[1])
