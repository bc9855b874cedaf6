#!/usr/bin/env bash
# README command 1: set up and run the app at http://localhost:5000.
# With no tenant configured (no CLIENT_ID in the environment or .env), it also
# starts the local identity-platform + Graph emulator and points the app at it
# through environment variables only, as you would point it at a real tenant.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt ./emulator

configured=${CLIENT_ID:-}
if [ -z "$configured" ] && [ -f .env ]; then
  configured=$(sed -n 's/^[[:space:]]*CLIENT_ID[[:space:]]*=[[:space:]]*//p' .env | tr -d "\"' \r")
fi
if [ -n "$configured" ]; then
  echo "Using the tenant configured in the environment / .env."
  exec .venv/bin/flask run --host localhost --port 5000
fi

state=.state/emulator
rm -f "$state/emulator.json"
.venv/bin/entra-emulator --state-dir "$state" --https-port "${EMULATOR_HTTPS_PORT:-8443}" \
  --http-port "${EMULATOR_HTTP_PORT:-8080}" &
emulator_pid=$!
app_pid=
stop() {
  trap - INT TERM EXIT
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null
  kill "$emulator_pid" 2>/dev/null
  wait 2>/dev/null
  echo "Stopped the app and the emulator."
}
trap stop INT TERM EXIT

for _ in $(seq 1 100); do
  [ -f "$state/emulator.json" ] && break
  kill -0 "$emulator_pid" 2>/dev/null || { echo "The emulator failed to start." >&2; exit 1; }
  sleep 0.1
done
[ -f "$state/emulator.json" ] || { echo "The emulator did not start within 10 s." >&2; exit 1; }

# Read the emulator's address book into environment variables for the app.
eval "$(.venv/bin/python scripts/emulator_env.py "$state/emulator.json")"
# The Finance page's group, and DEMO_CREDENTIAL=certificate|federated instead of the secret.
enterprise_env=$(.venv/bin/python scripts/demo_enterprise_env.py "$state/emulator.json"); eval "$enterprise_env"
# The redirect URI is registered for localhost:5000: refuse other Host headers.
export FLASK_APP=app SECRET_KEY TRUSTED_HOSTS=localhost:5000
SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')

cat <<MSG

  The app:        http://localhost:5000
  Identity (emulated Microsoft Entra ID) and Graph: $AUTHORITY
  Demo client secret: $CLIENT_SECRET (a well-known demo value, not a real secret)
  Demo users (pick one on the emulator's sign-in page):
$(.venv/bin/python scripts/emulator_env.py --users "$state/emulator.json")

  Press Ctrl-C to stop both.

MSG
.venv/bin/flask run --host localhost --port 5000 &
app_pid=$!
wait "$app_pid"
