"""The admin page and JSON API (aiohttp): one composition root, `create_app`."""

from appliance.web.app import create_app

__all__ = ["create_app"]
