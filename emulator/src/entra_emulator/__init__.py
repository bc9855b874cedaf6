"""Local emulator of the Microsoft identity platform (v2.0) and Microsoft Graph v1.0.

Apps never import this package; tests and demos start it and point apps at it
by configuration only.
"""
