"""Local emulator of the Microsoft identity platform (v2.0) and Microsoft Graph v1.0.

Apps never import this package; tests and demos start it and point apps at it by
configuration only::

    with entra_emulator.start() as emu:
        app = msal.ConfidentialClientApplication(
            emu.client_id, emu.client_secret, authority=emu.authority,
            instance_discovery=False, http_client=emu.http_client())
"""

from .handle import Emulator
from .headless import SignInError
from .server import start
from .transport import NotServedByEmulator

__all__ = ["Emulator", "NotServedByEmulator", "SignInError", "start"]
