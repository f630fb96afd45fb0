"""The node's web dashboard: pages served on the RPC port (web.py) and the `dashboard_` reads they
show (api.py). The front end (src/, bundled into static/dist/ by esbuild) signs in the browser."""
