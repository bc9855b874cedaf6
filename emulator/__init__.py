"""Local emulator of the Microsoft identity platform (v2.0) and Microsoft Graph v1.0.

The app never imports this package; it is pointed at it by configuration only.
"""
