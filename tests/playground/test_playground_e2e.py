"""The Playground in a real headless Chromium, driven by Selenium.

Needs the Debian packages `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver)
and the `selenium` package; without them the tests skip, saying which is missing. The server runs
on 127.0.0.1 with a free port.

Screenshots of the trained networks are written to pytest's temporary folder and, when the
environment variable AXONAL_TEST_ARTIFACTS names a folder, copied there too.
"""
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed")
pytest.importorskip("uvicorn", reason="the playground extra is not installed")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from axonal.playground.run import BackgroundServer

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
                allow_module_level=True)

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,1000"]


@pytest.fixture(scope="module")
def server():
    with BackgroundServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="axonal-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def artifact(tmp_path, browser, name):
    path = tmp_path / name
    browser.save_screenshot(str(path))
    out = os.environ.get("AXONAL_TEST_ARTIFACTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / name)
    return path


def js(browser, expr):
    return browser.execute_script(f"return {expr};")


def open_page(browser, server, hash_=""):
    browser.get("about:blank")  # a fresh load (and a fresh session) even when only the hash differs
    browser.get(server.url + hash_)
    WebDriverWait(browser, 20).until(lambda b: js(b, "window.playground && window.playground.lastFrame"))
    if hash_:  # the URL's settings were sent; wait for the server's answer to them
        WebDriverWait(browser, 20).until(lambda b: js(b, "window.playground.rev") >= 2)


def click_and_rebuild(browser, element):
    """Click a control that rebuilds the network, and wait for the new setup's first frame."""
    rev = js(browser, "window.playground.rev")
    element.click()
    WebDriverWait(browser, 20).until(
        lambda b: js(b, "window.playground.rev") > rev
        and js(b, "window.playground.lastFrame && window.playground.lastFrame.rev") > rev)


def play_until(browser, test_loss, max_epochs, timeout=90):
    """Press play and wait until the test loss is below `test_loss`; returns the epoch it took."""
    browser.find_element(By.ID, "play").click()
    found = None
    deadline = time.monotonic() + timeout
    while found is None and time.monotonic() < deadline:
        losses = js(browser, "window.playground.lossTest")
        hit = [i for i, v in enumerate(losses) if v is not None and v < test_loss]
        if hit:
            found = hit[0]
        elif len(losses) > max_epochs + 1:
            break
        time.sleep(0.2)
    browser.find_element(By.ID, "play").click()  # pause
    assert not js(browser, "window.playground.errors.length"), js(browser, "window.playground.errors")
    losses = js(browser, "window.playground.lossTest")
    assert found is not None and found <= max_epochs, (
        f"test loss {min(v for v in losses if v is not None):.4f} after {len(losses) - 1} epochs")
    return found


def test_xor_with_the_product_feature_learns_within_300_epochs(browser, server):
    open_page(browser, server)
    click_and_rebuild(browser, browser.find_element(By.CSS_SELECTOR, '.dataset[data-dataset="xor"]'))
    click_and_rebuild(browser, browser.find_element(By.ID, "node-xTimesY"))
    assert js(browser, "window.playground.config.dataset") == "xor"
    assert js(browser, "window.playground.config.xTimesY") is True
    epoch = play_until(browser, 0.05, 300)
    assert 0 < epoch <= 300
    assert browser.find_element(By.ID, "epoch").text != "000,000"
    assert float(browser.find_element(By.ID, "loss-test").text) < 0.1


def test_spiral_with_two_layers_of_eight_tanh_neurons(browser, server, tmp_path):
    open_page(browser, server)
    click_and_rebuild(browser, browser.find_element(By.CSS_SELECTOR, '.dataset[data-dataset="spiral"]'))
    for feature in ("sinX", "sinY"):
        click_and_rebuild(browser, browser.find_element(By.ID, f"node-{feature}"))
    for layer, clicks in ((0, 4), (1, 6)):
        for _ in range(clicks):
            button = browser.find_element(By.CSS_SELECTOR, f'.layer-plus[data-layer="{layer}"]')
            click_and_rebuild(browser, button)
    assert js(browser, "window.playground.config.networkShape") == [8, 8]
    assert js(browser, "window.playground.config.activation") == "tanh"
    browser.find_element(By.ID, "showTestData").click()
    play_until(browser, 0.1, 600)
    path = artifact(tmp_path, browser, "playground-spiral.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


STATE = ("#activation=relu&learningRate=0.1&networkShape=3,5,2&dataset=gauss&noise=20"
         "&percTrainData=70&batchSize=5&x=true&y=false&xSquared=true&regularization=L2"
         "&regularizationRate=0.01&optimizer=adam&seed=7&showTestData=true&discretize=true"
         "&stepButton_hide=true")


def controls(browser):
    ids = ["activation", "learningRate", "regularization", "regularizationRate", "optimizer",
           "problem", "percTrainData", "noise", "batchSize", "showTestData", "discretize"]
    values = {i: browser.find_element(By.ID, i) for i in ids}
    values = {i: (e.is_selected() if e.get_attribute("type") == "checkbox" else e.get_attribute("value"))
              for i, e in values.items()}
    values["layers"] = browser.find_element(By.ID, "layer-count").text
    values["neurons"] = len(browser.find_elements(By.CSS_SELECTOR, ".node.neuron:not(.output)"))
    values["features"] = [e.get_attribute("data-feature") for e in
                          browser.find_elements(By.CSS_SELECTOR, ".node.feature.active")]
    values["dataset"] = browser.find_element(By.CSS_SELECTOR, ".dataset.selected").get_attribute("data-dataset")
    return values


def test_url_state_reproduces_the_controls(browser, server):
    open_page(browser, server, STATE)
    first = controls(browser)
    assert first["activation"] == "relu" and first["learningRate"] == "0.1"
    assert first["layers"] == "3 HIDDEN LAYERS" and first["neurons"] == 10
    assert first["features"] == ["x", "xSquared"] and first["dataset"] == "gauss"
    assert (first["noise"], first["percTrainData"], first["batchSize"]) == ("20", "70", "5")
    assert first["showTestData"] and first["discretize"]
    assert not browser.find_element(By.ID, "step").is_displayed()  # hidden for the classroom
    Select(browser.find_element(By.ID, "activation")).select_by_value("sigmoid")
    WebDriverWait(browser, 10).until(lambda b: "activation=sigmoid" in b.current_url)
    url = browser.current_url
    open_page(browser, server, url[len(server.url):])
    again = controls(browser)
    assert again == dict(first, activation="sigmoid")
    assert js(browser, "window.playground.config.seed") == 7


def test_three_class_spiral_hover_and_weight_edit(browser, server):
    open_page(browser, server, "#dataset=spiral&classes=3&networkShape=6")
    frame = js(browser, "window.playground.lastFrame")
    assert "outputClasses" in frame and js(browser, "window.playground.classes") == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#legend i")) == 3
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "node-h0_2")).perform()
    WebDriverWait(browser, 10).until(
        lambda b: b.find_element(By.ID, "heatmap-caption").text == "showing h0_2")
    link = browser.find_element(By.CSS_SELECTOR, 'path.link[data-layer="1"][data-to="2"][data-from="4"]')
    ActionChains(browser).move_to_element(link).click().perform()
    box = browser.find_element(By.CSS_SELECTOR, ".weight-edit")
    assert box == browser.switch_to.active_element  # focused with its text selected: typing replaces
    # typed as a user would (WebDriver's clear() would blur the box, which cancels the edit)
    ActionChains(browser).send_keys("1.75" + Keys.ENTER).perform()
    WebDriverWait(browser, 10).until(
        lambda b: js(b, "window.playground.lastFrame.weights[1][2 * 6 + 4]") == 1.75)


def test_custom_csv_data(browser, server):
    open_page(browser, server)
    rows = [f"{x},{y},{1 if x * y > 0 else -1}" for x in range(-5, 6) for y in range(-5, 6) if x and y]
    browser.find_element(By.CSS_SELECTOR, "#custom-details summary").click()
    area = browser.find_element(By.ID, "custom-csv")
    browser.execute_script("arguments[0].value = arguments[1];", area, "x1,x2,label\n" + "\n".join(rows))
    click_and_rebuild(browser, browser.find_element(By.ID, "custom-load"))
    assert js(browser, "window.playground.config.dataset") == "custom"
    assert js(browser, "window.playground.train.length + window.playground.test.length") == len(rows)
    browser.find_element(By.ID, "custom-csv").clear()
    browser.find_element(By.ID, "custom-csv").send_keys("1,2\n")
    browser.find_element(By.ID, "custom-load").click()
    WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "error").is_displayed())
    assert "expected 3 values" in browser.find_element(By.ID, "error").text
