#!/usr/bin/env bash
# Creates what docker-compose.yml mounts: a CURVE key pair per principal in deploy/keys (secret
# keys 0600, never overwritten), the public keys and the allow-list in deploy/keys/public.
# Run from the repository after `swift build`; rerun after adding a service (existing keys stay).
# Agency gateways need nothing here: they are registered in the identity service
# (`contactpoint admin gateways register`, docs/GATEWAYS.md). Arguments name other client
# principals that get a key pair and an allow-list line too.
set -euo pipefail
cd "$(dirname "$0")/.."
contactpoint="$(swift build --show-bin-path)/contactpoint"
[ -x "$contactpoint" ] || { echo "build first: swift build" >&2; exit 1; }
keys=deploy/keys
mkdir -p "$keys/public"
chmod 700 "$keys"
# principal  services it may serve (none: a client only)
principals=(
    "broker-1 -"
    "broker-2 -"
    "identity contactpoint.v1.Identity,contactpoint.v1.IdentityAdmin,grpc.health.v1.Health,grpc.health.v1.Health/identity"
    "audit contactpoint.v1.Audit,grpc.health.v1.Health,grpc.health.v1.Health/audit"
    "consent contactpoint.v1.Consent,grpc.health.v1.Health,grpc.health.v1.Health/consent"
    "index contactpoint.v1.Index,grpc.health.v1.Health,grpc.health.v1.Health/index"
    "notification contactpoint.v1.Notification,grpc.health.v1.Health,grpc.health.v1.Health/notification"
    "echo contactpoint.v1.Echo,grpc.health.v1.Health,grpc.health.v1.Health/echo"
    "portal -"
    "operator -"
)
for gateway in "$@"; do
    [[ "$gateway" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "not a principal name: $gateway (letters, digits and ._-)" >&2; exit 2; }
    principals+=("$gateway -")
done
allow_list="$keys/public/allow-list"
echo "# written by scripts/compose-keys.sh: principal  public-key  services it may serve" > "$allow_list"
for entry in "${principals[@]}"; do
    read -r name services <<< "$entry"
    [ -f "$keys/$name.key" ] || "$contactpoint" keys generate "$name" --directory "$keys" > /dev/null
    cp "$keys/$name.pub" "$keys/public/$name.pub"
    key="$("$contactpoint" keys show "$keys/$name.pub")"
    if [ "$services" = "-" ]; then echo "$name $key"; else echo "$name $key $services"; fi >> "$allow_list"
done
# The containers run as uid 10001 (Dockerfile): it must be able to read its key.
if [ "$(id -u)" -eq 0 ]; then
    chown -R 10001:10001 "$keys"
else
    echo "note: the containers run as uid 10001; give it the keys: sudo chown -R 10001:10001 $keys"
fi
echo "keys and allow-list in $keys; the operator's key is $keys/operator.key"
