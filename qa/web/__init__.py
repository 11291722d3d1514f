"""The web layer: `qa serve`'s FastAPI app, the Gradio chat mounted on it, and their pages.

assets.py (CSS/JS strings) · render.py (chat HTML, pure) · article_page.py (article pages, pure) ·
history.py (chat history from a request) · limits.py (request bounds, env settings) · gate.py (the
shared engine) · middleware.py (the one ASGI middleware) · gradio_patch.py · eval_tab.py (the
Evaluation tab) · ui.py (the Gradio Blocks) · server.py (build_app, serve). Only ui.py, eval_tab.py,
gradio_patch.py and server.py import gradio, and only inside functions.
"""
