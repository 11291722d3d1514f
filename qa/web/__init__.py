"""The web layer: `qa serve`'s FastAPI app, the Gradio chat mounted on it, the JSON API and their pages.

Pure (no gradio, no I/O): assets.py (CSS/JS strings) · render.py (chat HTML) · article_page.py
(article pages) · escape.py (HTML text, control characters shown) · catalog.py (the article listing)
· history.py (chat history from a request) · hosts.py (Host names served) · limits.py (request
bounds, env settings). Server parts: gate.py (the bounded answer pool, background reload) ·
middleware.py (the one ASGI middleware: Host, Origin, routes, body limit, headers) ·
gradio_routes.py (which Gradio routes stay, and checks of their requests) · uploads.py (this
server's uploads) · gradio_patch.py · eval_tab.py (the Evaluation tab) · ui.py (the Gradio Blocks)
· api.py (/api/) · server.py (build_app, serve). Only ui.py, eval_tab.py, uploads.py,
gradio_patch.py and server.py import gradio, and only inside functions.
"""
