#!/bin/sh
# The emulator's container in compose.yaml. The emulator listens on 127.0.0.1 only and
# its URLs name 127.0.0.1, as on a developer's machine. The app's container shares this
# container's network, so it reaches those URLs as they are (TLS with the emulator's CA,
# written to /state for the app). The browser reaches the sign-in pages through the
# host's 127.0.0.1:8080, published to this container's own address, where socat hands
# each connection to the emulator. The https listener (tokens, Graph, the control API)
# is not published.
set -eu
state=/state
rm -f "$state/emulator.json"
entra-emulator --state-dir "$state" --https-port 8443 --http-port 8080 &
emulator=$!
address=$(hostname -i | cut -d' ' -f1)
socat "TCP-LISTEN:8080,bind=$address,fork,reuseaddr" TCP:127.0.0.1:8080 &
forwarder=$!
stop() { kill "$emulator" "$forwarder" 2>/dev/null || true; }
trap stop INT TERM
wait "$emulator" || true
stop
