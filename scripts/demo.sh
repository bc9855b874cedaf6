#!/usr/bin/env bash
# README command 1: set up and run the app at http://localhost:5000 (APP_PORT to change).
# With no tenant configured (no CLIENT_ID in the environment or .env), it also
# starts the local identity-platform + Graph emulator and points the app at it
# through environment variables only, as you would point it at a real tenant.
# Ctrl-C (SIGINT), SIGTERM or SIGHUP stop both; a restart keeps users signed in.
set -euo pipefail

# Started in the background by a non-interactive shell, this script inherits SIGINT
# ignored, and bash cannot trap a signal ignored at entry: start again with it restored.
if [ -n "$(trap -p INT)" ] && [ -z "${DEMO_SIGINT_RESTORED:-}" ]; then
  export DEMO_SIGINT_RESTORED=1
  exec "${PYTHON:-python3}" -c 'import os, signal, sys
for name in ("SIGINT", "SIGPIPE", "SIGXFSZ"):  # Python ignores the last two itself
    signal.signal(getattr(signal, name), signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$BASH" "$0" "$@"
fi
unset DEMO_SIGINT_RESTORED

cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
app_port=${APP_PORT:-5000}
https_port=${EMULATOR_HTTPS_PORT:-8443}
http_port=${EMULATOR_HTTP_PORT:-8080}
state=.state/emulator

configured=${CLIENT_ID:-}
if [ -z "$configured" ] && [ -f .env ]; then
  # CLIENT_ID=value, export CLIENT_ID=value; quotes and a trailing # comment removed.
  configured=$(sed -nE 's/^[[:space:]]*(export[[:space:]]+)?CLIENT_ID[[:space:]]*=[[:space:]]*//p' .env |
    sed -E 's/^#.*//; s/[[:space:]]+#.*//' | tr -d "\"' \r")
fi

# Every port before anything else, so a second run while one is running changes nothing.
if [ -n "$configured" ]; then
  "$python" scripts/demo_ports.py "APP_PORT=$app_port"
else
  "$python" scripts/demo_ports.py --emulator-json "$state/emulator.json" "APP_PORT=$app_port" \
    "EMULATOR_HTTPS_PORT=$https_port" "EMULATOR_HTTP_PORT=$http_port"
fi

# Set up only when requirements.txt or the emulator's files changed since the last time
# (DEMO_SKIP_SETUP=1, for the tests: .venv is set up already, and may be another folder's).
setup_digest() {
  find -H requirements.txt emulator -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' \
    ! -path 'emulator/build/*' -exec cksum {} + | LC_ALL=C sort | cksum
}
if [ -z "${DEMO_SKIP_SETUP:-}" ]; then
  digest=$(setup_digest)
  if [ ! -x .venv/bin/flask ] || [ ! -x .venv/bin/entra-emulator ] ||
    [ "$(cat .venv/.demo-setup 2>/dev/null)" != "$digest" ]; then
    bash scripts/setup.sh requirements.txt ./emulator
    echo "$digest" >.venv/.demo-setup
  fi
fi

if [ -n "$configured" ]; then
  echo "Using the tenant configured in the environment / .env (CLIENT_ID is set)."
  if [ "$app_port" != 5000 ]; then
    echo "Register http://localhost:$app_port/getAToken as a redirect URI of your app."
  fi
  exec .venv/bin/flask run --host localhost --port "$app_port"
fi

app_pid=
emulator_pid=
sleeper=
stop() {
  local status=$1 pid alive
  set +e
  trap '' INT TERM HUP # a second Ctrl-C does not cut the clean-up short
  trap - EXIT
  for pid in $sleeper $app_pid $emulator_pid; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 100); do # 10 s at most, then they are killed
    alive=
    for pid in $app_pid $emulator_pid; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for pid in $app_pid $emulator_pid; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$app_pid" ]; then echo "Stopped the app and the emulator."; else echo "Stopped the emulator."; fi
  exit "$status"
}
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'stop 129' HUP
trap 'stop $?' EXIT

# The demo client's redirect URIs follow the app's port.
.venv/bin/entra-emulator --state-dir "$state" --https-port "$https_port" --http-port "$http_port" \
  --redirect-uri "http://localhost:$app_port/getAToken" \
  --redirect-uri "http://localhost:$app_port/" &
emulator_pid=$!
# Ready once emulator.json names this emulator (a stopped demo's file may still be there).
for _ in $(seq 1 600); do
  grep -Eq "\"pid\": $emulator_pid([^0-9]|\$)" "$state/emulator.json" 2>/dev/null && break
  kill -0 "$emulator_pid" 2>/dev/null || { echo "The emulator failed to start." >&2; exit 1; }
  sleep 0.1
done
grep -Eq "\"pid\": $emulator_pid([^0-9]|\$)" "$state/emulator.json" ||
  { echo "The emulator did not start within 60 s." >&2; exit 1; }

# Read the emulator's address book into environment variables for the app.
settings=$(.venv/bin/python scripts/emulator_env.py "$state/emulator.json")
eval "$settings"
# Kept keys: a restart can read the sessions and token caches written before it.
keys=$(.venv/bin/python scripts/demo_keys.py .state/app)
eval "$keys"
# The redirect URI is registered for localhost:$app_port: refuse other Host headers
# (127.0.0.1 is sent on to localhost). DEMO_EMULATOR tells the configuration page who
# set CLIENT_ID.
export FLASK_APP=app TRUSTED_HOSTS="localhost:$app_port" DEVELOPER_PANELS=true DEMO_EMULATOR=true
# The Finance page's group, and DEMO_CREDENTIAL=certificate|federated instead of the secret.
enterprise_env=$(.venv/bin/python scripts/demo_enterprise_env.py "$state/emulator.json")
eval "$enterprise_env"
if [ -n "${CLIENT_SECRET:-}" ]; then
  credential="client secret $CLIENT_SECRET (a well-known demo value, not a real secret)"
elif [ -n "${CLIENT_CERTIFICATE_PATH:-}" ]; then
  credential="certificate $CLIENT_CERTIFICATE_PATH (made for this demo)"
else
  credential="federated token file $AZURE_FEDERATED_TOKEN_FILE (workload identity)"
fi

cat <<MSG

  The app:        http://localhost:$app_port
  Identity (emulated Microsoft Entra ID) and Graph: $AUTHORITY
  The app's credential: $credential
  Demo users (pick one on the emulator's sign-in page):
$(.venv/bin/python scripts/emulator_env.py --users "$state/emulator.json")

  Press Ctrl-C to stop both. A restart keeps you signed in (its keys and sign-ins are
  kept in .state/; delete that folder to start afresh).

MSG
.venv/bin/flask run --host localhost --port "$app_port" &
app_pid=$!
# Until the app or the emulator ends; a short sleep keeps the traps responsive.
while kill -0 "$app_pid" 2>/dev/null && kill -0 "$emulator_pid" 2>/dev/null; do
  sleep 0.5 &
  sleeper=$!
  wait "$sleeper" || true
done
if kill -0 "$emulator_pid" 2>/dev/null; then
  status=0
  wait "$app_pid" || status=$?
  echo "The app stopped (exit status $status)." >&2
else
  echo "The emulator stopped." >&2
fi
exit 1
