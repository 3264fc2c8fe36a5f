"""The dashboard in a real browser: Debian's headless chromium driven by Selenium through
chromium-driver. A runtime started by `yr start --master` (dashboard on loopback), a driver
that creates an instance and makes it print; the browser logs in with the URL `yr start`
printed, finds the instance in the table (filtering and sorting it), opens its page and sees
its log tail and call counts. Name resolution for every host but loopback is broken in the
browser (no network), and every resource the page loaded must come from the runtime itself.
With YR_DASHBOARD_SCREENSHOTS=1 a screenshot of each page goes to docs/ (the ones checked
in come from this test); otherwise to the test's temporary directory.
"""
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from yr_testing import wait_no_runtime_processes
from test_examples import yr_cli

DOCS = Path(__file__).resolve().parents[2] / "docs"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

DRIVER = textwrap.dedent("""
    import sys, yr
    yr.init()

    @yr.instance
    class Greeter:
        def greet(self, who):
            print(f"hello from the dashboard test, {who}", flush=True)
            return who

    g = Greeter.options(name="dash-greeter").invoke()
    assert yr.get([g.greet.invoke(w) for w in ("ann", "bob", "cy")], timeout=60) == ["ann", "bob", "cy"]
    print("READY", flush=True)
    sys.stdin.readline()
""")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboard") / "sessions"
    env = {"YR_SESSION_ROOT": str(root)}
    out = yr_cli("start", "--master", "--cpu", "4000", env=env)
    assert out.returncode == 0, out.stderr
    proc = None
    try:   # (from here on the runtime is stopped whatever fails)
        login = re.search(r"dashboard: (\S+)", out.stdout).group(1)
        script = tmp_path_factory.mktemp("dashdrv") / "driver.py"
        script.write_text(DRIVER)
        proc = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, env=dict(os.environ, **env))
        while proc.stdout.readline().strip() != "READY":   # bounded: the driver's waits are
            assert proc.poll() is None, "the driver failed"
        yield {"login": login, "url": login.split("/login")[0], "env": env}
    finally:
        if proc is not None:
            proc.stdin.close()
            proc.wait(60)
        stop = yr_cli("stop", env=env)
        assert stop.returncode == 0, stop.stderr
        assert wait_no_runtime_processes(15, root=str(root)) == []


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-proxy-server",
                # no network: every name but loopback fails to resolve
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def wait(browser, check, timeout=30):
    return WebDriverWait(browser, timeout, poll_frequency=0.3).until(lambda b: check(b))


def row_of(browser, text):
    """The text of the instances table's row holding `text` (None if none); the table is
    redrawn every 2 s, so a row read while it is replaced is read again."""
    try:
        return next((tr.text for tr in browser.find_elements(By.CSS_SELECTOR, "#instances tbody tr")
                     if text in tr.text), None)
    except StaleElementReferenceException:
        return None


def click_instance(browser, text) -> bool:
    try:
        for tr in browser.find_elements(By.CSS_SELECTOR, "#instances tbody tr"):
            if text in tr.text:
                tr.find_element(By.TAG_NAME, "a").click()
                return True
    except StaleElementReferenceException:
        pass
    return False


def test_the_dashboard_shows_the_instance_its_log_and_calls(runtime, browser, tmp_path):
    shots = DOCS if os.environ.get("YR_DASHBOARD_SCREENSHOTS") == "1" else tmp_path
    browser.get(runtime["url"] + "/")
    assert "missing or wrong session token" in browser.page_source   # no token, no page
    browser.get(runtime["login"])                                     # the URL `yr start` printed
    row = wait(browser, lambda b: row_of(b, "dash-greeter"))
    assert "Greeter" in row and "RUNNING" in row
    wait(browser, lambda b: "node-0" in b.find_element(By.ID, "nodes").text)
    # filtering keeps it, or hides it
    box = browser.find_element(By.ID, "filter")
    box.send_keys("no-such-thing")
    wait(browser, lambda b: row_of(b, "dash-greeter") is None)
    box.clear()
    box.send_keys("greeter")
    wait(browser, lambda b: row_of(b, "dash-greeter") is not None)
    # sorting by a column marks it
    browser.find_element(By.CSS_SELECTOR, "#instances th[data-key=class]").click()
    assert "asc" in browser.find_element(By.CSS_SELECTOR, "#instances th[data-key=class]").get_attribute("class")
    time.sleep(2.5)   # two samples of the call rates, for the chart on the screenshot
    browser.save_screenshot(str(shots / "dashboard.png"))
    # the instance's page: its log tail and its call counts
    wait(browser, lambda b: click_instance(b, "dash-greeter"))
    try:   # (a loaded machine: the page refreshes every 2 s, each refresh asks the node for the log)
        log = wait(browser, lambda b: (lambda t: t if "cy" in t else None)(b.find_element(By.ID, "log-tail").text),
                   timeout=60)
    except TimeoutException:
        raise AssertionError(f"the log tail never showed the third line: page {browser.current_url}, "
                             f"status {browser.find_element(By.ID, 'updated').text!r}, log tail "
                             f"{browser.find_element(By.ID, 'log-tail').get_attribute('textContent')!r}") from None
    assert [line for line in log.splitlines() if "dashboard test" in line] == [
        f"hello from the dashboard test, {w}" for w in ("ann", "bob", "cy")]
    calls = wait(browser, lambda b: (lambda t: t if "greet" in t else None)(
        b.find_element(By.ID, "instance-calls").text))
    assert re.search(r"greet 3 3 0", calls), calls
    browser.save_screenshot(str(shots / "dashboard-instance.png"))
    # everything the pages loaded came from the runtime itself
    urls = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and all(u.startswith(runtime["url"] + "/") for u in urls), urls
    assert "error" not in browser.find_element(By.ID, "updated").text


def test_an_external_name_does_not_resolve_in_the_test_browser(browser):
    """The browser of these tests really has no network beyond loopback."""
    with pytest.raises(WebDriverException, match="ERR_NAME_NOT_RESOLVED"):
        browser.get("http://example.com/")
