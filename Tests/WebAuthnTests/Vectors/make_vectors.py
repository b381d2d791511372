#!/usr/bin/python3
"""Makes webauthn-vectors.json: registrations (attestation "none") and assertions as a software
authenticator would send them, for ES256 and EdDSA, each checked by an independent
implementation (python-fido2's Fido2Server, Debian's python3-fido2) before it is written.

    /usr/bin/python3 Tests/WebAuthnTests/Vectors/make_vectors.py > Tests/WebAuthnTests/Vectors/webauthn-vectors.json

The Swift verifier (Shared/WebAuthn) must accept every vector, and refuse them mutated."""

import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from fido2.client import ClientData
from fido2.cose import ES256, EdDSA
from fido2.ctap2 import AttestationObject, AttestedCredentialData, AuthenticatorData
from fido2.server import Fido2Server
from fido2.utils import sha256, websafe_encode
from fido2.webauthn import PublicKeyCredentialRpEntity

RP_ID = "localhost"
ORIGIN = "https://localhost:8443"
UP, UV, AT = 0x01, 0x04, 0x40


def b64(data):
    return websafe_encode(bytes(data))


def case(name, private_key, cose_type, sign, counter):
    credential_id = os.urandom(32)
    cose_key = cose_type.from_cryptography_key(private_key.public_key())
    credential = AttestedCredentialData.create(b"\0" * 16, credential_id, cose_key)
    registration_challenge = os.urandom(32)
    registration_data = ClientData.build(
        type="webauthn.create", challenge=websafe_encode(registration_challenge), origin=ORIGIN, crossOrigin=False)
    registration_auth = AuthenticatorData.create(sha256(RP_ID.encode()), UP | UV | AT, 0, credential)
    attestation = AttestationObject.create("none", registration_auth, {})

    server = Fido2Server(PublicKeyCredentialRpEntity(RP_ID, "ContactPoint"), attestation="none",
                         verify_origin=lambda origin: origin == ORIGIN)
    server.register_complete({"challenge": websafe_encode(registration_challenge), "user_verification": "required"},
                             registration_data, attestation)

    assertion_challenge = os.urandom(32)
    assertion_data = ClientData.build(
        type="webauthn.get", challenge=websafe_encode(assertion_challenge), origin=ORIGIN, crossOrigin=False)
    assertion_auth = AuthenticatorData.create(sha256(RP_ID.encode()), UP | UV, counter)
    signature = sign(private_key, bytes(assertion_auth) + assertion_data.hash)
    server.authenticate_complete({"challenge": websafe_encode(assertion_challenge), "user_verification": "required"},
                                 [credential], credential_id, assertion_data, assertion_auth, signature)
    return {
        "name": name, "rpId": RP_ID, "origin": ORIGIN, "algorithm": cose_type.ALGORITHM,
        "registration": {
            "challenge": b64(registration_challenge), "clientDataJSON": b64(bytes(registration_data)),
            "attestationObject": b64(bytes(attestation.with_string_keys())), "credentialId": b64(credential_id),
        },
        "assertion": {
            "challenge": b64(assertion_challenge), "clientDataJSON": b64(bytes(assertion_data)),
            "authenticatorData": b64(bytes(assertion_auth)), "signature": b64(signature), "signCount": counter,
        },
    }


cases = [
    case("ES256, P-256", ec.generate_private_key(ec.SECP256R1()), ES256,
         lambda key, data: key.sign(data, ec.ECDSA(hashes.SHA256())), 7),
    case("EdDSA, Ed25519", ed25519.Ed25519PrivateKey.generate(), EdDSA, lambda key, data: key.sign(data), 1),
    case("ES256 without a signature counter", ec.generate_private_key(ec.SECP256R1()), ES256,
         lambda key, data: key.sign(data, ec.ECDSA(hashes.SHA256())), 0),
]
print(json.dumps({"generator": "python3-fido2 0.9 (Debian), checked by its Fido2Server", "cases": cases}, indent=2))
