#!/usr/bin/env python3
"""Verifies ContactPoint audit checkpoints as any C2SP signed-note verifier would.

Usage: verify_checkpoint.py VERIFIER-KEY-FILE CHECKPOINT-FILE...
       verify_checkpoint.py --self-test

Written from the specifications alone (https://c2sp.org/signed-note,
https://c2sp.org/tlog-checkpoint, RFC 8032 for Ed25519), with nothing but the Python standard
library, so that it shares no code with the audit service. For each file it prints
"<file>: size <n>, root <base64>" or what is wrong; the exit status is 1 if any file fails.
"""
import base64
import hashlib
import sys

# --- Ed25519 verification, RFC 8032 section 6 ---------------------------------------------
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    e = (a[1] - a[0]) * (b[1] - b[0]) % P
    f = (a[1] + a[0]) * (b[1] + b[0]) % P
    g = 2 * a[3] * b[3] * D % P
    h = 2 * a[2] * b[2] % P
    e, f, g, h = f - e, h - g, h + g, f + e
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(encoded):
    if len(encoded) != 32:
        return None
    y = int.from_bytes(encoded, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _equal(_mul(s, BASE), _add(r, _mul(h, a)))


# --- C2SP signed notes ---------------------------------------------------------------------
def parse_verifier_key(text):
    """name+hex(key hash)+base64(type || public key) -> (name, key hash, public key)."""
    name, key_hash, encoded = text.strip().split("+", 2)
    key = base64.b64decode(encoded, validate=True)
    if key[0] != 0x01 or len(key) != 33:
        raise ValueError("not an Ed25519 verifier key")
    if hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] != bytes.fromhex(key_hash):
        raise ValueError("the key hash does not match the key")
    return name, bytes.fromhex(key_hash), key[1:]


def verify_note(text, name, key_hash, public):
    """The note's body if a signature line by (name, key hash) verifies, else raises."""
    if not text.endswith("\n") or "\n\n" not in text:
        raise ValueError("not a signed note")
    split = text.rindex("\n\n")
    body, signatures = text[: split + 1], text[split + 2 :]
    for line in signatures[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise ValueError("malformed signature line: %r" % line)
        fields = line[2:].split(" ")
        if len(fields) != 2:
            raise ValueError("malformed signature line: %r" % line)
        signed = base64.b64decode(fields[1], validate=True)
        if fields[0] == name and signed[:4] == key_hash:
            if ed25519_verify(public, body.encode(), signed[4:]):
                return body
            raise ValueError("the signature does not verify")
    raise ValueError("no signature by %s+%s" % (name, key_hash.hex()))


def parse_checkpoint(body, origin):
    lines = body[:-1].split("\n")
    if len(lines) < 3 or lines[0] != origin:
        raise ValueError("not a checkpoint of %s" % origin)
    size = int(lines[1])
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32 or str(size) != lines[1]:
        raise ValueError("malformed checkpoint body")
    return size, lines[2]


# The published example of golang.org/x/mod/sumdb/note (note_test.go): key, note and signature.
EXAMPLE_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
EXAMPLE_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
EXAMPLE_SIGNATURE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def self_test():
    """This verifier accepts the published example and refuses it altered."""
    name, key_hash, public = parse_verifier_key(EXAMPLE_KEY)
    assert verify_note(EXAMPLE_TEXT + "\n" + EXAMPLE_SIGNATURE, name, key_hash, public) == EXAMPLE_TEXT
    try:
        verify_note(EXAMPLE_TEXT.replace("answer", "Answer") + "\n" + EXAMPLE_SIGNATURE, name, key_hash, public)
    except ValueError:
        print("self-test: the published example verifies, and altered it does not")
        return 0
    print("self-test: an altered note verified")
    return 1


def main(arguments):
    if arguments == ["--self-test"]:
        return self_test()
    if len(arguments) < 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    with open(arguments[0], encoding="utf-8") as file:
        name, key_hash, public = parse_verifier_key(file.read())
    failed = False
    for path in arguments[1:]:
        try:
            with open(path, encoding="utf-8") as file:
                body = verify_note(file.read(), name, key_hash, public)
            size, root = parse_checkpoint(body, name)
            print("%s: size %d, root %s" % (path, size, root))
        except (ValueError, UnicodeDecodeError) as error:
            print("%s: %s" % (path, error))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
