"""Print shell `export` lines that point the app at a running emulator.

Usage: emulator_env.py [--users] STATE_DIR/emulator.json
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    show_users = "--users" in argv
    info = json.loads(Path(argv[-1]).read_text(encoding="utf-8"))
    if show_users:
        # The label says which account shows what: admin, guest, personal, no OneDrive.
        for user in info["users"]:
            print(f"    {user['upn']:<32} {user['name']:<24} {user.get('label', '')}".rstrip())
        return 0
    env = {
        "CLIENT_ID": info["client_id"],
        "CLIENT_SECRET": info["client_secret"],
        # "common", as the seed registers the app: work, school and personal accounts.
        "AUTHORITY": info["common_authority"],
        "INSTANCE_DISCOVERY": "false",
        "GRAPH_ENDPOINT": info["graph_endpoint"],
        "REQUESTS_CA_BUNDLE": info["ca_bundle"],
    }
    for name, value in env.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
