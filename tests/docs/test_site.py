"""The documentation site: built with ``mkdocs build --strict`` and opened page by page in headless Chromium.

On every page: no console errors, every ``<img>`` loaded (``naturalWidth > 0``),
every internal link answers 200 from the local server; the music page's
``<audio>`` plays a WAV that the server has. Screenshots of the home page and
a lab page go to the run's output folder (``$MIT_DL_CI_OUTPUT``, default
``ci-output/`` in the repository), kept as CI artifacts.
"""

import functools
import http.server
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from support import skip_outside_ci

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUMS = ("chromium", "chromium-headless-shell", "chrome-headless-shell", "google-chrome")
DRIVERS = ("chromedriver",)


def output_folder():
    """Where screenshots go: ``$MIT_DL_CI_OUTPUT`` or ``ci-output/`` beside the tests."""
    folder = pathlib.Path(os.environ.get("MIT_DL_CI_OUTPUT", ROOT / "ci-output"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser that stops a download is fine
            super().handle_error(request, client_address)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _find(names):
    return next((path for path in map(shutil.which, names) if path), None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver = _find(CHROMIUMS), _find(DRIVERS)
    if chromium is None or driver is None:
        skip_outside_ci("no headless Chromium and ChromeDriver installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(60)
    yield chrome
    chrome.quit()


def pages(site):
    """Every page of the built site, as a path from its root (``""`` is the home page)."""
    found = []
    for index in sorted(site.rglob("index.html")):
        relative = index.parent.relative_to(site).as_posix()
        found.append("" if relative == "." else relative + "/")
    return found


def _status(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(12)
    except urllib.error.HTTPError as error:
        return error.code, b""


def visit(browser, url):
    """Load ``url`` and return what the page shows: console errors, images, links, audio sources."""
    browser.get_log("browser")  # drop what earlier pages left
    browser.get(url)
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # lazy images load too
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all([...document.images].map(i => i.complete ? null : new Promise(r => {i.onload = i.onerror = r;})))"
        ".then(() => done());"
    )
    seen = browser.execute_script(
        "return {"
        "images: [...document.images].map(i => [i.currentSrc || i.src, i.naturalWidth]),"
        "links: [...document.querySelectorAll('a[href]')].map(a => a.href),"
        "audio: [...document.querySelectorAll('audio')].map(a => a.currentSrc || a.src ||"
        "  (a.querySelector('source') || {}).src),"
        "title: document.title};"
    )
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    return {**seen, "errors": errors}


def test_the_site_builds_strict_and_every_page_works_in_a_real_browser(site, server, browser):
    visited = {}
    for page in pages(site):
        url = f"{server}/{page}"
        shown = visit(browser, url)
        assert not shown["errors"], f"{url}: console errors {shown['errors']}"
        broken = [src for src, width in shown["images"] if not width]
        assert not broken, f"{url}: images that did not load: {broken}"
        visited[page] = shown
    assert len(visited) >= 20, sorted(visited)  # home, getting started, labs, notebooks, layers, reference, ...
    labs = ("labs/music/", "labs/images/", "labs/faces/", "labs/generative/", "labs/rl/", "labs/uncertainty/")
    figures = {page: len(visited[page]["images"]) for page in labs}
    assert figures["labs/music/"] >= 1 and figures["labs/images/"] >= 3 and figures["labs/faces/"] >= 5, figures
    assert figures["labs/generative/"] >= 5 and figures["labs/rl/"] >= 4, figures  # the RL page: 3 curves, a film
    assert figures["labs/uncertainty/"] >= 6, figures  # two regression bands, reliability, three histograms
    notebook_outputs = len(visited["notebooks/images_part1_images/"]["images"])
    assert notebook_outputs >= 3, "the rendered images notebook shows no plots"

    internal = {
        urllib.parse.urldefrag(link)[0]
        for shown in visited.values()
        for link in shown["links"]
        if link.startswith(server)
    }
    failing = {link: code for link in sorted(internal) if (code := _status(link)[0]) != 200}
    assert not failing, f"internal links that do not resolve: {failing}"
    assert len(internal) >= len(visited)


def test_the_music_page_plays_a_generated_song(site, server, browser):
    shown = visit(browser, f"{server}/labs/music/")
    assert shown["audio"], "the music page has no <audio> element"
    for source in shown["audio"]:
        assert source.endswith(".wav"), source
        status, head = _status(source)
        assert status == 200 and head[:4] == b"RIFF" and head[8:12] == b"WAVE", (source, status, head)


def test_screenshots_of_the_home_page_and_a_lab_page(server, browser):
    folder = output_folder()
    for page, name in (("", "home.png"), ("labs/images/", "lab-images.png")):
        browser.set_window_size(1280, 900)
        browser.get(f"{server}/{page}")
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, min(height, 4000))  # the whole page, its figures included
        visit(browser, f"{server}/{page}")  # reload at that size and wait for every image
        browser.execute_script("window.scrollTo(0, 0)")
        path = folder / name
        assert browser.save_screenshot(str(path)), path
        assert path.stat().st_size > 20_000, f"{path} is suspiciously small for a rendered page"
    browser.set_window_size(1280, 900)


def test_the_api_reference_shows_every_docstring_example_as_code_with_its_prompts(site, server, browser):
    """``Examples:`` sections render as code; an ``Example:`` admonition would turn ``>>>`` into nested quotes."""
    script = (
        "const walker = document.createTreeWalker(document.querySelector('article') || document.body,"
        "  NodeFilter.SHOW_TEXT);"
        "let inCode = 0, loose = [];"
        "while (walker.nextNode()) {"
        "  const node = walker.currentNode;"
        "  if (!node.textContent.includes('>>>')) continue;"
        "  if (node.parentElement.closest('pre, code')) inCode += node.textContent.split('>>>').length - 1;"
        "  else loose.push(node.textContent.slice(0, 80));"
        "}"
        "return {inCode: inCode, loose: loose, quotes: document.querySelectorAll('article blockquote').length};"
    )
    prompts = {}
    for page in [p for p in pages(site) if p.startswith("reference/")]:
        browser.get(f"{server}/{page}")
        shown = browser.execute_script(script)
        assert not shown["loose"] and not shown["quotes"], f"{page}: examples outside code: {shown}"
        prompts[page] = shown["inCode"]
    # 212 prompt lines when this test was written (the RL, uncertainty, vision and core pages hold most).
    assert sum(prompts.values()) >= 200 and prompts["reference/rl/"] >= 50, prompts
