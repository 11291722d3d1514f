"""The web layer: `qa serve`'s FastAPI app, the Gradio chat mounted on it, the JSON API and their pages.

Pure (no gradio, no I/O): assets.py (CSS/JS strings) · render.py (chat HTML) · article_page.py
(article pages) · escape.py (HTML text, control characters shown, text checked) · catalog.py (the
article listing) · hosts.py (Host names served) · limits.py (request bounds). Server parts: gate.py
(what the web layer needs of the engine, the bounded answer pool, background reload) · protocol.py
(request heads and connections bounded) · middleware.py (the one ASGI middleware: Host, Origin,
routes, body limit, headers) · gradio_routes.py (which Gradio routes stay, and checks of their
requests) · uploads.py (this server's upload route and store) · eval_tab.py (the Evaluation tab) ·
ui.py (the Gradio Blocks and the callbacks of its events) · api.py (the /api/ router) · server.py
(build_app, serve). Only ui.py, eval_tab.py and server.py import gradio, and only inside functions.
"""
