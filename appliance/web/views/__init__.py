"""Request handlers, one module per part of the admin page; `web.routes` lists them all."""
