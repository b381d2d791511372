#!/usr/bin/python3
"""The portal in real headless Chromium (Debian's chromium, chromium-driver, python3-selenium),
against a stack started by `contactpoint up`. Run by Tests/EndToEndTests/PortalBrowserTests.swift,
which prepares the people and the children and passes them in a JSON file:

    portal_browser_test.py CONFIG.json

Prints one line per check, "step: ..." lines at the points where the Swift side acts, and ends
with "N passed, M failed" (exit status 1 if any failed)."""

import base64
import hashlib
import hmac
import http.client
import json
import ssl
import struct
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions
from selenium.webdriver.support.ui import WebDriverWait

CONFIG = json.load(open(sys.argv[1]))
URL = CONFIG["url"]
HOST = urllib.parse.urlparse(URL)
RESULTS = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    RESULTS["passed" if condition else "failed"] += 1
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else ": " + str(detail)[:2000]), flush=True)
    return condition


def step(text):
    print("step: " + text, flush=True)


def totp(secret_hex, step_number):
    """RFC 6238 with SHA-1, 6 digits, 30-second steps (what identity uses)."""
    digest = hmac.new(bytes.fromhex(secret_hex), struct.pack(">Q", step_number), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def fresh_code(person):
    """A code for a step the person has not used yet: identity refuses a code twice."""
    while int(time.time()) // 30 <= person["usedStep"]:
        time.sleep(0.5)
    person["usedStep"] = int(time.time()) // 30
    return totp(person["totpSecretHex"], person["usedStep"])


def raw_request(method, path, headers=None, body=None):
    """One HTTPS request outside the browser (the certificate is the stack's own)."""
    connection = http.client.HTTPSConnection(HOST.hostname, HOST.port, context=ssl._create_unverified_context())
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.getheaders(), response.read().decode("utf-8", "replace")


def browser():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                     "--window-size=1280,1000", "--disable-gpu"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    service = Service(executable_path="/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


def wait_for(driver, condition, seconds=15):
    try:
        WebDriverWait(driver, seconds).until(lambda _: condition())
        return True
    except TimeoutException:
        return False


def submit(driver, selector):
    """Clicks a form's button and waits for the page it leads to: the old page's root is gone
    (Chromium says so as a stale element, or as a node no longer in the document)."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, selector).click()

    def left(_):
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            return True
    WebDriverWait(driver, 30).until(left)


def fill(driver, field, text):
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(text)


AXE = open(CONFIG["axe"]).read()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def accessible(driver, name):
    """axe-core (WCAG 2.0 to 2.2, A and AA) on the page as it is now: no violation."""
    driver.execute_script(AXE)
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: %s}}).then(function (r) { done(r.violations); },"
        " function (e) { done([{id: 'axe failed', help: String(e), nodes: []}]); });" % json.dumps(WCAG_TAGS))
    check("axe: no WCAG 2.2 AA violation on %s" % name, not result,
          [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in result])


def reflows(driver, name):
    """At 320 CSS pixels wide (WCAG 1.4.10, as 1280 at 400 %) nothing scrolls sideways."""
    size = driver.get_window_size()
    driver.set_window_size(320, 800)
    try:
        width = driver.execute_script("return document.documentElement.scrollWidth")
        check("%s reflows at 320 px without scrolling sideways" % name, width <= 320, width)
    finally:
        driver.set_window_size(size["width"], size["height"])


def screenshot(driver, name):
    """Keeps the page's picture (with PORTAL_SCREENSHOTS), and checks it with axe."""
    if CONFIG.get("screenshots"):
        driver.save_screenshot("%s/%s.png" % (CONFIG["screenshots"], name))
    accessible(driver, name)


def sign_in(driver, person):
    driver.get(URL + "/sign-in")
    fill(driver, "email", person["email"])
    fill(driver, "password", person["password"])
    fill(driver, "code", fresh_code(person))
    submit(driver, "form[action='/sign-in'] button")


def headers_and_cookies():
    status, headers, _ = raw_request("GET", "/sign-in")
    named = {}
    for name, value in headers:
        named.setdefault(name.lower(), []).append(value)
    policy = named.get("content-security-policy", [""])[0]
    check("the sign-in page answers 200", status == 200, status)
    check("CSP: own scripts and styles only, nothing inline, no framing",
          "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
          and "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, policy)
    check("HSTS", named.get("strict-transport-security", [""])[0].startswith("max-age=31536000"), named)
    check("nosniff", named.get("x-content-type-options") == ["nosniff"], named)
    check("no referrer", named.get("referrer-policy") == ["no-referrer"], named)
    check("no caching of pages", named.get("cache-control") == ["no-store"], named)
    cookies = named.get("set-cookie", [])
    csrf = [c for c in cookies if c.startswith("__Host-cp-csrf=")]
    check("the CSRF cookie is __Host-, Secure, HttpOnly, SameSite=Strict, path /, no domain",
          len(csrf) == 1 and all(flag in csrf[0] for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"])
          and "Domain" not in csrf[0], cookies)


def sign_in_and_home(driver, sam):
    driver.get(URL + "/sign-in")
    screenshot(driver, "sign-in")
    # Nothing typed: the error summary links to each field
    submit(driver, "form[action='/sign-in'] button")
    links = [a.get_attribute("href").split("#")[-1] for a in driver.find_elements(By.CSS_SELECTOR, ".error-summary a")]
    check("an empty sign-in form: the error summary links to email, password and code",
          links == ["email", "password", "code"], links)
    check("the error summary has focus", driver.switch_to.active_element.get_attribute("class") == "error-summary")
    check("the title starts with Error:", driver.title.startswith("Error: "), driver.title)
    accessible(driver, "the sign-in page with errors")
    # A wrong code
    fill(driver, "email", sam["email"])
    fill(driver, "password", sam["password"])
    fill(driver, "code", "000000")
    submit(driver, "form[action='/sign-in'] button")
    check("a wrong code is refused with identity's words",
          "not right" in driver.find_element(By.CSS_SELECTOR, ".error-summary").text, driver.page_source[:3000])
    sign_in(driver, sam)
    check("signed in with password and TOTP: the home page", wait_for(driver, lambda: "/home" in driver.current_url),
          driver.current_url)
    check("the sign-in banner shows the history", "session" in driver.find_element(By.ID, "sign-in-history").text)
    screenshot(driver, "home")
    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = cookies.get("__Host-cp-session", {})
    check("the session cookie is Secure, HttpOnly, SameSite=Strict",
          session.get("secure") and session.get("httpOnly") and session.get("sameSite") == "Strict", session)
    check("no cookie is readable by script", driver.execute_script("return document.cookie") == "")
    return cookies


def search_and_view(driver, child):
    driver.get(URL + "/search")
    fill(driver, "given", child["given"])
    fill(driver, "family", child["family"])
    submit(driver, "form[action='/search'] button")
    summary = driver.find_elements(By.CSS_SELECTOR, ".error-summary a")
    check("a search without a reason is refused, and shows nothing",
          len(summary) == 1 and summary[0].get_attribute("href").endswith("#reason-contact-practitioners")
          and not driver.find_elements(By.ID, "results"), driver.page_source[:3000])
    # With a reason, and a reference full of what HTML treats specially
    driver.find_element(By.ID, "reason-contact-practitioners").click()
    reference = "<script>window.injected=1</script> O'Brien & \"Sons\""
    fill(driver, "reason-text", reference[:200])
    fill(driver, "given", child["given"] + "<b>")
    submit(driver, "form[action='/search'] button")
    check("markup in a field is shown as text, never run or parsed",
          driver.execute_script("return window.injected === undefined && document.querySelectorAll('script').length === 1 && document.querySelectorAll('main b').length === 0"),
          driver.page_source[:3000])
    fill(driver, "given", child["given"])
    fill(driver, "reason-text", "ref 42")
    submit(driver, "form[action='/search'] button")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.table tbody tr")
    found = [r for r in rows if child["born"] in r.text]
    check("a search with a reason finds the child", len(found) >= 1, [r.text for r in rows])
    check("the child's name is not in the URL", child["family"] not in driver.current_url, driver.current_url)
    screenshot(driver, "search-results")
    reflows(driver, "the search results")
    if not found:
        return
    found[0].find_element(By.TAG_NAME, "a").click()
    check("the record asks for a reason first",
          wait_for(driver, lambda: driver.find_elements(By.ID, "reason-contact-practitioners"))
          and child["family"] not in driver.page_source, driver.page_source[:2000])
    submit(driver, "main form button")
    check("a record without a reason is refused", driver.find_elements(By.CSS_SELECTOR, ".error-summary"))
    accessible(driver, "the record's reason page with an error")
    driver.find_element(By.ID, "reason-safeguarding-concern").click()
    submit(driver, "main form button")
    check("with a reason the record shows the child",
          wait_for(driver, lambda: child["family"] in driver.find_element(By.TAG_NAME, "h1").text),
          driver.page_source[:2000])
    screenshot(driver, "record")
    reflows(driver, "the record")
    print("child-id: " + driver.current_url.rstrip("/").split("/")[-1], flush=True)


def forged_forms(cookies):
    cookie = "; ".join("%s=%s" % (name, c["value"]) for name, c in cookies.items())
    body = urllib.parse.urlencode({"reason": "contact-practitioners", "given": "Forged", "family": "Request"})
    status, _, text = raw_request("POST", "/search", {
        "Cookie": cookie, "Origin": URL, "Content-Type": "application/x-www-form-urlencoded"}, body)
    check("a form without the CSRF token is refused (403), nothing done", status == 403 and "expired" in text, status)
    _, _, page = raw_request("GET", "/search", {"Cookie": cookie})
    token = page.split('name="csrf" value="')[1].split('"')[0]
    body = urllib.parse.urlencode({"csrf": token, "reason": "contact-practitioners", "given": "Forged",
                                   "family": "Request"})
    status, _, _ = raw_request("POST", "/search", {
        "Cookie": cookie, "Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"}, body)
    check("a form from another origin is refused (403)", status == 403, status)
    status, _, _ = raw_request("POST", "/search", {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, body)
    check("a form with no Origin is refused (403)", status == 403, status)
    status, _, _ = raw_request("POST", "/search", {
        "Cookie": cookie, "Origin": "null", "Sec-Fetch-Site": "cross-site",
        "Content-Type": "application/x-www-form-urlencoded"}, body)
    check("a form with Origin null from another site is refused (403)", status == 403, status)


def live_alerts(driver):
    driver.get(URL + "/alerts")
    before = len(driver.find_elements(By.CSS_SELECTOR, "#alerts-body tr"))
    # The page's event stream is open once its comment has arrived; give it a moment.
    time.sleep(1.5)
    step("alerts open")
    arrived = wait_for(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, "#alerts-body tr")) > before, 30)
    check("another agency's involvement appears in the open inbox without reloading", arrived,
          driver.find_element(By.ID, "alerts-table").text)
    screenshot(driver, "alerts")
    driver.get(URL + "/alerts")
    buttons = driver.find_elements(By.CSS_SELECTOR, "#alerts-body button[value='acknowledged']")
    if check("a new alert can be acknowledged from the page", buttons, driver.page_source[:2000]):
        submit(driver, "#alerts-body button[value='acknowledged']")
        check("the alert reads as acknowledged", "Acknowledged" in driver.find_element(By.ID, "alerts-table").text,
              driver.find_element(By.ID, "alerts-table").text)


def idle_warning(driver):
    """The stack runs with a short idle timeout (CONFIG's idleSeconds): the warning comes two
    minutes before it, and "Stay signed in" renews the session and keeps the page as it was."""
    driver.get(URL + "/search")
    field = driver.find_element(By.ID, "given")
    field.send_keys("kept")
    warning = driver.find_element(By.ID, "idle-warning")
    check("the idle warning is hidden at first", not warning.is_displayed())
    shown = wait_for(driver, warning.is_displayed, CONFIG["idleSeconds"] - 100)
    check("the idle warning shows before the timeout, with the focus on its button",
          shown and driver.switch_to.active_element.get_attribute("id") == "stay-signed-in")
    screenshot(driver, "idle-warning")
    driver.find_element(By.ID, "stay-signed-in").click()
    check("staying signed in keeps the page and what was typed",
          wait_for(driver, lambda: not warning.is_displayed()) and field.get_attribute("value") == "kept"
          and "/search" in driver.current_url, driver.current_url)


def add_passkey(driver, sam):
    """A passkey made by Chromium's virtual authenticator (CTAP2, user verification): the code
    first, as a step-up; then the browser's own ceremony, verified by the identity service."""
    options = VirtualAuthenticatorOptions()
    options.protocol = "ctap2"
    options.transport = "internal"
    options.has_resident_key = True
    options.has_user_verification = True
    options.is_user_verified = True
    driver.add_virtual_authenticator(options)
    driver.get(URL + "/account/passkeys")
    check("no passkey at first", driver.find_elements(By.ID, "no-passkeys"))
    fill(driver, "passkey-name", "work laptop")
    fill(driver, "step-up-code", fresh_code(sam))
    submit(driver, "form[action='/account/passkeys/new'] button")
    check("after the code, the page to create the passkey",
          driver.find_elements(By.ID, "create-passkey"), driver.page_source[:3000])
    screenshot(driver, "passkey-create")
    submit(driver, "#create-passkey")
    check("the passkey made by Chromium is accepted and listed",
          "work laptop" in driver.find_element(By.TAG_NAME, "main").text and "added" in driver.current_url,
          driver.find_element(By.TAG_NAME, "main").text[:2000])
    screenshot(driver, "passkeys")


def sign_in_with_passkey(driver, sam):
    driver.get(URL + "/sign-in")
    fill(driver, "email", sam["email"])
    fill(driver, "password", sam["password"])
    submit(driver, "button[value='passkey']")
    check("the password right: the passkey page", driver.find_elements(By.ID, "use-passkey"), driver.page_source[:2000])
    accessible(driver, "the passkey sign-in page")
    # Keep what the page's script sends, to send it again below
    driver.execute_script("""
        var form = document.getElementById("passkey-assertion");
        form.submit = function () {
          var sent = {};
          for (var i = 0; i < form.elements.length; i++) { sent[form.elements[i].name] = form.elements[i].value; }
          localStorage.setItem("assertion", JSON.stringify(sent));
          HTMLFormElement.prototype.submit.call(form);
        };""")
    submit(driver, "#use-passkey")
    check("signed in with password and passkey: the home page", "/home" in driver.current_url, driver.current_url)
    sent = json.loads(driver.execute_script("return localStorage.getItem('assertion')") or "{}")
    check("the assertion was sent", sent.get("signature"), sent)
    # The same assertion again, from a fresh browser session: its challenge is used
    _, headers, page = raw_request("GET", "/sign-in")
    csrf = [v for k, v in headers if k.lower() == "set-cookie" and v.startswith("__Host-cp-csrf=")][0].split(";")[0]
    sent["csrf"] = page.split('name="csrf" value="')[1].split('"')[0]
    status, _, text = raw_request("POST", "/sign-in/passkey", {
        "Cookie": csrf, "Origin": URL, "Content-Type": "application/x-www-form-urlencoded"},
        urllib.parse.urlencode(sent))
    check("a replayed passkey assertion is refused", status == 401 and "not accepted" in text, (status, text[:500]))


def remove_passkey(driver, sam):
    driver.get(URL + "/account/passkeys")
    driver.find_element(By.CSS_SELECTOR, "a[href^='/account/passkeys/remove']").click()
    check("removing a passkey asks for a code first",
          wait_for(driver, lambda: driver.find_elements(By.ID, "step-up-code")), driver.page_source[:2000])
    screenshot(driver, "passkey-remove")
    fill(driver, "step-up-code", fresh_code(sam))
    submit(driver, "button.button-warning")
    check("after the code, the passkey is gone", driver.find_elements(By.ID, "no-passkeys")
          and "removed" in driver.current_url, driver.page_source[:2000])


def sign_out(driver, cookies):
    submit(driver, "form[action='/sign-out'] button")
    check("signing out returns to the sign-in page", wait_for(driver, lambda: "ended=signed-out" in driver.current_url),
          driver.current_url)
    # The services learn of ended sessions from identity every 2 seconds.
    cookie = "__Host-cp-session=%s" % cookies["__Host-cp-session"]["value"]
    deadline = time.time() + 10
    while True:
        status, headers, _ = raw_request("GET", "/alerts", {"Cookie": cookie})
        location = dict((k.lower(), v) for k, v in headers).get("location", "")
        if status == 303 or time.time() > deadline:
            break
        time.sleep(0.5)
    check("the old session cookie no longer works (the session ended at identity)",
          status == 303 and location.startswith("/sign-in?ended=session"), (status, location))


def main():
    headers_and_cookies()
    driver = browser()
    try:
        cookies = sign_in_and_home(driver, CONFIG["sam"])
        search_and_view(driver, CONFIG["child"])
        forged_forms(cookies)
        live_alerts(driver)
        idle_warning(driver)
        add_passkey(driver, CONFIG["sam"])
        sign_out(driver, cookies)
        sign_in_with_passkey(driver, CONFIG["sam"])
        remove_passkey(driver, CONFIG["sam"])
    finally:
        driver.quit()
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]), flush=True)
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
