"""Does the chat's answer event gain from skipping Gradio's queue? Time from pressing Enter to the
answer on the page (Debian's Chromium through Playwright), with the answer event queued (Gradio's
event stream) and not queued (POST /gradio_api/run/predict, bounded by the EngineGate alone).

    python benchmarks/chat_queue.py [--questions 20]   # writes benchmarks/chat_queue.md
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchutil import REPO, cpu_model, load_average, percentile  # noqa: E402

QUESTIONS = ["How did Ofsted rate Havering's child protection services in 2012?", "What needed to change?",
             "When was the service rated inadequate?", "Who is the director of children's services?",
             "What is the capital of France?"]


def serve(queue: bool, engine):
    import uvicorn

    import qa.web.ui
    from qa.web.server import build_app

    qa.web.ui.ANSWER_QUEUE = queue
    app = build_app(engine, examples=[])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}/"


def measure(browser, url: str, n: int, per_page: int = 8) -> list[float]:
    """Seconds from Enter to each answer; a fresh page every ``per_page`` questions."""
    seconds: list[float] = []
    while len(seconds) < n:
        page = browser.new_page()
        page.goto(url, wait_until="load")
        page.locator("#qa-question textarea").wait_for()
        for i in range(min(per_page, n - len(seconds))):
            page.fill("#qa-question textarea", QUESTIONS[(len(seconds)) % len(QUESTIONS)])
            t0 = time.perf_counter()
            page.keyboard.press("Enter")
            page.locator("#qa-chat .qa-answer").nth(i).wait_for(timeout=60_000)
            seconds.append(time.perf_counter() - t0)
        page.close()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--index", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from qa.config import Settings, setting
    from qa.pipeline import Engine

    index = args.index or REPO / setting("QA_INDEX_DIR")
    engine = Engine.open(Settings(corpus_dir=REPO / "corpus", index_dir=index))
    engine.warm_up()
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for rnd in range(2):  # alternate, twice, so drift in the machine's load hits both
            for queue in (True, False):
                server, url = serve(queue, engine)
                try:
                    measure(browser, url, 3)  # warm
                    rows.append((queue, measure(browser, url, args.questions)))
                finally:
                    server.should_exit = True
        browser.close()
    lines = ["# The chat's answer event: Gradio's queue or not (benchmarks/chat_queue.py)", "",
             f"{cpu_model()}, {os.cpu_count()} cores, load average {load_average()}. Time from Enter to the "
             "answer drawn in Chromium, one visitor, the five articles.", "",
             "| answer event | questions | p50 ms | p95 ms |", "|---|---:|---:|---:|"]
    for queue in (True, False):
        s = [x for q, xs in rows if q is queue for x in xs]
        lines.append(f"| {'queued (event stream)' if queue else 'not queued (run/predict)'} | {len(s)} | "
                     f"{percentile(s, 50) * 1000:.0f} | {percentile(s, 95) * 1000:.0f} |")
    text = "\n".join(lines) + "\n"
    (REPO / "benchmarks" / "chat_queue.md").write_text(text, "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
