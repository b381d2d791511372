#!/usr/bin/python3
"""The measuring half of scripts/portal-benchmark: given a running demo stack, signs Sam in to
the portal and Asha in on the command line, then runs, alternately and twice, the portal's load
(wrk) and the same lookups over the bus (sdk-bench), and prints a table.

    portal-benchmark-driver.py DATA-DIR BIN-DIR SDK-BENCH SECONDS"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import sqlite3
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

DATA, BIN, SDK_BENCH, SECONDS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STACK = json.load(open(DATA + "/stack.json"))
URL = urllib.parse.urlparse(STACK["portal"])


def credentials(email):
    for line in open(DATA + "/up.log"):
        if email in line and "TOTP secret" in line:
            password = re.search(r'password: "([^"]+)"', line).group(1)
            secret = re.search(r"TOTP secret: ([A-Z2-7]+)", line).group(1)
            return password, base64.b32decode(secret + "=" * (-len(secret) % 8))
    raise SystemExit("no demo credentials for %s in up.log" % email)


def totp(secret):
    digest = hmac.new(secret, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def request(method, path, cookies, body=None):
    connection = http.client.HTTPSConnection(URL.hostname, URL.port, context=ssl._create_unverified_context())
    headers = {"Cookie": "; ".join("%s=%s" % kv for kv in cookies.items())}
    if body is not None:
        headers.update({"Origin": STACK["portal"], "Content-Type": "application/x-www-form-urlencoded"})
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            cookie_name, cookie_value = value.split(";")[0].split("=", 1)
            cookies[cookie_name] = cookie_value
    return response.status, response.read().decode()


def csrf_token(cookies, page_path="/search"):
    _, page = request("GET", page_path, cookies)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


# The children looked up: from the index's own file, read-only
index = sqlite3.connect("file:%s/data/index/index.sqlite?mode=ro" % DATA, uri=True)
children = index.execute(
    "SELECT id, given_name, family_name FROM child WHERE is_shielded = 0 ORDER BY row LIMIT 400").fetchall()
index.close()

# Sam signs in to the portal
password, secret = credentials("sam@hillside.demo")
cookies = {}
status, _ = request("POST", "/sign-in", cookies, urllib.parse.urlencode(
    {"csrf": csrf_token(cookies, "/sign-in"), "email": "sam@hillside.demo", "password": password, "code": totp(secret)}))
assert status == 303 and "__Host-cp-session" in cookies, "portal sign-in failed: %d" % status
token = csrf_token(cookies)
status, page = request("POST", "/children/%010d" % children[0][0], cookies,
                       urllib.parse.urlencode({"csrf": token, "reason": "contact-practitioners"}))
assert status == 200 and "Services involved" in page, "a portal view failed: %d" % status

# Asha signs in on the command line, for the direct lookups
password, secret = credentials("asha@riverside.demo")
subprocess.run([BIN + "/contactpoint", "login", "--email", "asha@riverside.demo", "--data-dir", DATA],
               input="%s\n%s\n" % (password, totp(secret)), text=True, check=True, capture_output=True)
session = open(DATA + "/session").read().strip()

# The same lookups encoded for sdk-bench (Proto/ compiled for Python)
work = tempfile.mkdtemp()
subprocess.run(["protoc", "-I", ROOT + "/Proto", "--python_out=" + work]
               + [p for p in subprocess.run(["find", "contactpoint", "-name", "*.proto"], cwd=ROOT + "/Proto",
                                            capture_output=True, text=True).stdout.split()], cwd=ROOT + "/Proto",
               check=True)
sys.path.insert(0, work)
from contactpoint.v1 import index_pb2, common_pb2  # noqa: E402


def calls_file(name, messages):
    path = "%s/%s.calls" % (work, name)
    with open(path, "wb") as out:
        for kind, message in messages:
            encoded = message.SerializeToString()
            out.write(bytes([kind]) + struct.pack("<I", len(encoded)) + encoded)
    return path


reason = common_pb2.AccessReason(code=common_pb2.REASON_CODE_CONTACT_PRACTITIONERS)
views = calls_file("views", [(1, index_pb2.ViewRecordRequest(reason=reason, child_id="%010d" % c[0]))
                             for c in children])
searches = calls_file("searches", [(0, index_pb2.SearchChildrenRequest(reason=reason, given_name=c[1],
                                                                        family_name=c[2])) for c in children])


def lua(name, paths_and_bodies):
    path = "%s/%s.lua" % (work, name)
    cookie = "; ".join("%s=%s" % kv for kv in cookies.items())
    entries = ",\n".join('{%s, %s}' % (json.dumps(p), json.dumps(b)) for p, b in paths_and_bodies)
    with open(path, "w") as out:
        out.write("""
local calls = {%s}
local i = 0
wrk.method = "POST"
wrk.headers["Cookie"] = %s
wrk.headers["Origin"] = %s
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  i = i %% #calls + 1
  return wrk.format(nil, calls[i][1], nil, calls[i][2])
end
""" % (entries, json.dumps(cookie), json.dumps(STACK["portal"])))
    return path


portal_views = lua("views", [("/children/%010d" % c[0], urllib.parse.urlencode(
    {"csrf": token, "reason": "contact-practitioners"})) for c in children])
portal_searches = lua("searches", [("/search", urllib.parse.urlencode(
    {"csrf": token, "reason": "contact-practitioners", "given": c[1], "family": c[2]})) for c in children])


def wrk(script, connections, threads):
    output = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % SECONDS, "--latency",
                             "-s", script, STACK["portal"]], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, float(p50.group(1)) * scale[p50.group(2)], float(p99.group(1)) * scale[p99.group(2)], \
        int(errors.group(1)) if errors else 0


def sdk(calls, in_flight):
    broker = STACK["brokers"][0]
    output = subprocess.run([SDK_BENCH, broker["endpoint"], broker["publicKeyFile"], DATA + "/keys/operator.key",
                             session, calls, str(SECONDS), str(in_flight)],
                            capture_output=True, text=True, check=True).stdout
    figures = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', output))
    return float(figures["lookups_per_second"]), float(figures["p50_ms"]), float(figures["p99_ms"]), \
        int(figures["failed"])


rows = []
for run in (1, 2):
    rows.append(("portal, views, 32 connections", run) + wrk(portal_views, 32, 2))
    rows.append(("bus (C SDK), views, 32 in flight", run) + sdk(views, 32))
    rows.append(("portal, searches, 1 connection", run) + wrk(portal_searches, 1, 1))
    rows.append(("bus (C SDK), searches, 1 at a time", run) + sdk(searches, 1))

print("| load | run | per second | p50 ms | p99 ms | failed |")
print("|---|---:|---:|---:|---:|---:|")
for name, run, rate, p50, p99, failed in rows:
    print("| %s | %d | %.0f | %.2f | %.2f | %d |" % (name, run, rate, p50, p99, failed))
print("(sdk-bench's p50/p99 are of 2,000 sequential searches; with views only it measures none.)")
