"""An MDP/0.2 client for the ContactPoint bus, written from docs/PROTOCOL.md alone.

Usage: echo_client.py GENERATED_DIR ENDPOINT BROKER_PUB CLIENT_KEY TEXT
Prints "<served_by> <caller> <text>" on success; exits non-zero otherwise.

GENERATED_DIR holds the Python modules protoc made from Proto/ (protoc --python_out).
"""
import sys

import zmq

generated, endpoint, broker_pub, client_key, text = sys.argv[1:6]
sys.path.insert(0, generated)
from contactpoint.v1 import bus_pb2, echo_pb2  # noqa: E402


def key_file(path):
    fields = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            fields[name.strip()] = value.strip().encode()
    return fields


context = zmq.Context()
socket = context.socket(zmq.DEALER)
socket.curve_serverkey = key_file(broker_pub)["public-key"]
own = key_file(client_key)
socket.curve_publickey, socket.curve_secretkey = own["public-key"], own["secret-key"]
socket.setsockopt(zmq.IMMEDIATE, 1)
socket.connect(endpoint)

header = bus_pb2.RequestHeader(call_id=7, method="/contactpoint.v1.Echo/Get", timeout_micros=5_000_000, attempt=1)
request = echo_pb2.EchoRequest(text=text)
socket.setsockopt(zmq.SNDTIMEO, 2_000)
try:
    # With IMMEDIATE a send waits while no broker connection is up: bounded, then UNAVAILABLE.
    socket.send_multipart(
        [b"MDPC02", b"\x01", b"contactpoint.v1.Echo", header.SerializeToString(), request.SerializeToString()])
except zmq.Again:
    sys.exit("UNAVAILABLE: no connection to the broker within 2 s")

if not socket.poll(10_000):
    sys.exit("no reply within 10 s")
protocol, command, service, reply_header, *message = socket.recv_multipart()
reply = bus_pb2.ReplyHeader.FromString(reply_header)
if (protocol, command, service) != (b"MDPC02", b"\x03", b"contactpoint.v1.Echo") or reply.call_id != 7:
    sys.exit(f"unexpected reply: {protocol} {command} {service} call {reply.call_id}")
if reply.status_code != 0:
    sys.exit(f"status {reply.status_code}: {reply.status_message}")
response = echo_pb2.EchoResponse.FromString(message[0])
print(response.served_by, response.caller, response.text)
