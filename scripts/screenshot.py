"""Screenshot of the web chat answering one question, for the README (docs/chat.png).

Starts `python -m qa serve` on a free port (or uses --url), asks the question in Debian's
Chromium through Playwright, and saves a desktop-sized PNG.

    python scripts/screenshot.py                                  # first example question
    python scripts/screenshot.py --question "Who led the inspection?" --out docs/chat.png
    python scripts/screenshot.py --url http://127.0.0.1:7860/ --phone-out docs/chat-phone.png
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 300  # the first start may build the index


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(corpus: Path, index: Path | None):
    """`qa serve` in a subprocess; yields its URL and stops it afterwards."""
    port = free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    with tempfile.TemporaryDirectory(prefix="qa-shot-") as tmp:
        index_dir = index or Path(tmp) / "index"
        cmd = [sys.executable, "-m", "qa", "serve", "--port", str(port), "--corpus", str(corpus),
               "--index", str(index_dir)]
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"qa serve exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(url + "config", timeout=5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit(f"qa serve not ready after {START_TIMEOUT_S} s") from None
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def shoot(url: str, question: str | None, out: Path, chromium: Path, width: int, height: int,
          phone_out: Path | None) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        shots = [(out, {"width": width, "height": height}, {})]
        if phone_out:
            shots.append((phone_out, {"width": 390, "height": 844},
                          {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}))
        for path, viewport, extra in shots:
            context = browser.new_context(viewport=viewport, **extra)
            page = context.new_page()
            page.goto(url, wait_until="load")
            page.locator("#qa-question textarea").wait_for()
            if question:
                page.fill("#qa-question textarea", question)
                page.keyboard.press("Enter")
            else:
                page.locator("#qa-chat .examples .example").first.click()
            page.locator("#qa-chat .qa-answer").first.wait_for(timeout=120_000)
            page.wait_for_timeout(800)  # the smooth scroll to the answer
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path))
            print(f"wrote {path}")
            context.close()
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running `qa serve` (default: start one)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="articles (default: %(default)s)")
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: a temporary one)")
    parser.add_argument("--question", default=None, help="what to ask (default: click the first example)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "chat.png", help="PNG (default: %(default)s)")
    parser.add_argument("--phone-out", type=Path, default=None, help="also a 390x844 phone PNG here")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"),
                        help="Chromium binary (default: %(default)s; `sudo apt-get install chromium`)")
    args = parser.parse_args(argv)
    if not args.chromium.exists():
        print(f"Chromium not found at {args.chromium}: install it with `sudo apt-get install chromium`",
              file=sys.stderr)
        return 1
    if args.url:
        shoot(args.url, args.question, args.out, args.chromium, args.width, args.height, args.phone_out)
    else:
        with running_server(args.corpus, args.index) as url:
            shoot(url, args.question, args.out, args.chromium, args.width, args.height, args.phone_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
