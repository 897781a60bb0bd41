"""What students, instructors and admins see in a real (headless) Chromium, against the real stack.

Grading is held back (the workers stop consuming a queue) where a test must see a
page *before* the work is done, so the live updates are seen deterministically,
not by luck of timing. Screenshots of each key moment go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import re
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from celery import Celery
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from engine.package_store import zip_folder
from tests.e2e.conftest import ARTIFACTS

EXAMPLES = Path(__file__).resolve().parents[2] / "assignments" / "s3-content-manager" / "examples"
SCREENSHOTS = ARTIFACTS / "screenshots"
MANAGER_TITLE = "Lab 06: S3 Content Manager"
LAB07 = Path(__file__).resolve().parents[2] / "assignments" / "dynamodb-inventory"
LAB07_TITLE = "Lab 07: DynamoDB Inventory"
GRADING_TIMEOUT = 90


# -- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    """Headless Debian Chromium; never lets Selenium Manager fetch anything."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="e2e-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    # The console, to see what the Content-Security-Policy refused.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
        },
    )
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


class Workers:
    """Remote control of the stack's Celery workers, through its Redis."""

    def __init__(self, stack):
        self.app = Celery("e2e-control", broker=stack.redis_url)
        # As named by Stack.start_worker: --hostname w<index>-<stack name>@%h
        self.names = [f"w{index}-{stack.name}@{socket.gethostname()}" for index in range(len(stack.workers))]

    @contextlib.contextmanager
    def holding(self, queue: str):
        """The workers take nothing from `queue` until the block ends; its tasks wait in Redis."""
        self._tell("cancel_consumer", queue)
        try:
            yield
        finally:
            self._tell("add_consumer", queue)

    def _tell(self, command: str, queue: str) -> None:
        replies = getattr(self.app.control, command)(queue, destination=self.names, reply=True, timeout=5)
        assert len(replies) == len(self.names), f"{command} {queue}: not every worker answered: {replies}"


@pytest.fixture(scope="module")
def workers(stack):
    control = Workers(stack)
    yield control
    control.app.close()


# -- helpers -------------------------------------------------------------------


def wait(driver: WebDriver, timeout: float = 10) -> WebDriverWait:
    return WebDriverWait(driver, timeout)


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page, not only the viewport, as a PNG."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path = SCREENSHOTS / name
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def log_in(driver: WebDriver, base_url: str, username: str, password: str = "demo") -> None:
    """Through the login form, as a person would; starts from a logged-out browser."""
    driver.delete_all_cookies()
    driver.get(base_url + "/login/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "main form button").click()
    wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Your courses"))
    assert driver.find_element(By.CSS_SELECTOR, "header nav span").text == username


def gradebook_students(driver: WebDriver) -> list[str]:
    return [row.get_attribute("data-student") for row in driver.find_elements(By.CSS_SELECTOR, "#gradebook tbody tr")]


SCORE_HEADER = '#gradebook th[data-sort="score"]'


def gradebook_scores(driver: WebDriver) -> list[int | None]:
    """The score column, top to bottom: 8 for "8/10", None for "–"."""
    cells = driver.find_elements(By.CSS_SELECTOR, "#gradebook tbody td.score")
    return [int(m.group(1)) if (m := re.match(r"(\d+)/", cell.text)) else None for cell in cells]


def open_gradebook(driver: WebDriver, title: str = MANAGER_TITLE) -> None:
    driver.find_element(By.LINK_TEXT, title).click()
    wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), title))
    driver.find_element(By.LINK_TEXT, "Gradebook").click()
    wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), f"Gradebook: {title}"))


@pytest.fixture
def alice_has_a_graded_submission(stack, assignment_ids) -> None:
    """So the gradebook tests also work on their own, without the student's test before them."""
    manager = assignment_ids["s3-content-manager"]
    rows = csv.DictReader(io.StringIO(stack.client("ada").get(f"/assignments/{manager}/gradebook.csv").text))
    if not any(row["student"] == "alice" and row["score"] for row in rows):
        alice = stack.client("alice")
        alice.wait_until_finished(alice.upload(manager, EXAMPLES / "wrong_no_cleanup.py"))


# -- scenarios -----------------------------------------------------------------


def test_a_student_uploads_a_script_and_watches_it_get_graded_without_reloading(browser, stack, workers):
    log_in(browser, stack.url, "alice")
    browser.find_element(By.LINK_TEXT, MANAGER_TITLE).click()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), MANAGER_TITLE))

    script = EXAMPLES / "wrong_no_cleanup.py"
    with workers.holding("grading"):
        browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(str(script))
        screenshot(browser, "student-file-chosen.png")
        browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()

        wait(browser).until(EC.url_matches(r"/submissions/\d+/$"))
        status = wait(browser).until(EC.visibility_of_element_located((By.ID, "live-status")))
        assert re.fullmatch(r"Queued \(position \d+ in the queue\)", status.text), status.text
        assert not browser.find_elements(By.ID, "score")
        assert "updates by itself" in browser.find_element(By.ID, "live-hint").text
        screenshot(browser, "student-uploaded.png")

    # Grading resumes; the page polls the status and reloads itself once finished.
    wait(browser, GRADING_TIMEOUT).until(EC.staleness_of(status))
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "live-status"), "Graded"))
    assert browser.find_element(By.ID, "live-status").text == "Graded"
    assert browser.find_element(By.ID, "score").text == "8/10"
    assert not browser.find_elements(By.ID, "live-hint")

    cleanup = browser.find_element(By.CSS_SELECTOR, '.checks li[data-check="cleanup"]')
    assert "fail" in cleanup.get_attribute("class").split()
    assert "DeleteBucket was never called on it" in cleanup.text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".checks li.pass")) == 4

    calls = browser.find_element(By.CSS_SELECTOR, "table.timeline")
    operations = [cell.text.split("\n")[0] for cell in calls.find_elements(By.CSS_SELECTOR, "tbody td:nth-child(2)")]
    assert "CreateBucket" in operations and "PutObject" in operations
    assert "DeleteBucket" not in operations
    screenshot(browser, "student-graded.png")

    browser.find_element(By.CSS_SELECTOR, ".crumbs a").click()
    mine = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, "#my-submissions tbody tr")))
    assert mine.find_element(By.CSS_SELECTOR, ".status").text == "Graded"
    assert mine.find_element(By.CSS_SELECTOR, "td.score").text == "8/10"


def test_a_student_submits_lab_07_and_reads_what_the_dynamodb_calls_did(browser, stack, workers):
    log_in(browser, stack.url, "alice")
    browser.find_element(By.LINK_TEXT, LAB07_TITLE).click()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), LAB07_TITLE))
    assert "inventory.csv" in browser.find_element(By.TAG_NAME, "main").text  # the instructions

    script = LAB07 / "examples" / "wrong_no_delete_waiter.py"
    browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(str(script))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait(browser).until(EC.url_matches(r"/submissions/\d+/$"))
    wait(browser, GRADING_TIMEOUT).until(EC.text_to_be_present_in_element((By.ID, "live-status"), "Graded"))
    wait(browser).until(EC.visibility_of_element_located((By.ID, "score")))
    assert browser.find_element(By.ID, "score").text == "8/10"

    cleanup = browser.find_element(By.CSS_SELECTOR, '.checks li[data-check="cleanup_waited"]')
    assert "fail" in cleanup.get_attribute("class").split()
    assert "No DescribeTable after DeleteTable: wait with table_not_exists." in cleanup.text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".checks li.pass")) == 4

    assert (
        "DynamoDB calls"
        in browser.find_element(By.CSS_SELECTOR, "table.timeline").find_element(By.XPATH, "preceding-sibling::h2").text
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "table.timeline tbody tr:not(.printed)")
    operations = [row.find_elements(By.TAG_NAME, "td")[1].text.split("\n")[0] for row in rows]
    assert operations[0] == "CreateTable" and "BatchWriteItem" in operations and operations[-1] == "DeleteTable"
    assert operations.count("Scan") >= 3
    tables = {row.find_elements(By.TAG_NAME, "td")[2].text for row in rows}
    assert tables == {"inventory-alice"}
    screenshot(browser, "student-lab07-graded.png")


def test_an_instructor_sorts_the_gradebook_by_score_and_downloads_it_as_csv(
    browser, stack, downloads, alice_has_a_graded_submission
):
    log_in(browser, stack.url, "ada")
    open_gradebook(browser)

    alice = browser.find_element(By.CSS_SELECTOR, '#gradebook tr[data-student="alice"]')
    assert re.fullmatch(r"\d+/10\*?", alice.find_element(By.CSS_SELECTOR, "td.score").text)
    assert set(gradebook_students(browser)) == {"alice", "bob", "carol"}
    checks = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#gradebook th.check")]
    assert checks == ["Multi-upload", "Tagging", "Audit", "Cleanup", "Documentation"]

    # Highest score first; students without a graded submission last.
    browser.find_element(By.LINK_TEXT, "Score").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, SCORE_HEADER + '[aria-sort="descending"]')))
    assert "sort=score" in browser.current_url
    scores = gradebook_scores(browser)
    graded = [score for score in scores if score is not None]
    assert scores == graded + [None] * (len(scores) - len(graded))
    assert graded == sorted(graded, reverse=True) and graded
    assert gradebook_students(browser)[0] == "alice"
    # Rendered charts: one histogram bar per possible score, a pass-rate bar per check.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#histogram .col")) == 11
    assert len(browser.find_elements(By.CSS_SELECTOR, "#pass-rates tr")) == 5
    screenshot(browser, "gradebook.png")

    # A second click turns the order around.
    browser.find_element(By.LINK_TEXT, "Score").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, SCORE_HEADER + '[aria-sort="ascending"]')))
    assert "sort=-score" in browser.current_url
    reversed_scores = gradebook_scores(browser)
    assert reversed_scores == sorted(graded) + [None] * (len(scores) - len(graded))  # ungraded stay last

    for old in downloads.iterdir():
        old.unlink()
    browser.find_element(By.LINK_TEXT, "Download CSV").click()
    done = wait(browser, 20).until(
        lambda _: [p for p in downloads.iterdir() if p.suffix == ".csv"] or False,
        message=f"no CSV arrived in {downloads}",
    )
    assert done[0].name.startswith("gradebook-boto3-demo-")
    reader = csv.DictReader(io.StringIO(done[0].read_text()))
    assert reader.fieldnames[:3] == ["student", "score", "max_score"] and "cleanup" in reader.fieldnames
    by_student = {row["student"]: row for row in reader}
    assert set(by_student) == {"alice", "bob", "carol"}
    assert re.fullmatch(r"\d+", by_student["alice"]["score"]) and by_student["alice"]["max_score"] == "10"
    assert by_student["alice"]["cleanup"] in ("pass", "fail")


def test_an_admin_reruns_the_checks_for_everyone_and_watches_the_job_finish(
    browser, stack, workers, alice_has_a_graded_submission
):
    log_in(browser, stack.url, "admin")
    open_gradebook(browser)
    screenshot(browser, "admin-gradebook.png")

    with workers.holding("admin"):
        browser.find_element(By.ID, "recheck-all").click()
        wait(browser).until(EC.url_matches(r"/jobs/\d+/$"))
        status = wait(browser).until(EC.visibility_of_element_located((By.ID, "job-status")))
        match = re.fullmatch(r"0 of (\d+)", status.text)
        assert match, status.text
        total = int(match.group(1))
        assert total >= 1
        screenshot(browser, "job-started.png")

    wait(browser, GRADING_TIMEOUT).until(
        EC.text_to_be_present_in_element((By.ID, "job-status"), f"{total} of {total}: finished")
    )
    assert status.text == f"{total} of {total}: finished"  # updated in place, no reload
    progress = browser.find_element(By.ID, "job-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == str(total)
    screenshot(browser, "job-finished.png")


def test_no_page_of_the_site_or_the_admin_is_broken_by_the_content_security_policy(
    browser, stack, assignment_ids, alice_has_a_graded_submission
):
    # The policy allows the site's own script and stylesheet only: no inline script,
    # no style attribute. What it refuses, Chromium reports on the console.
    manager = assignment_ids["s3-content-manager"]
    log_in(browser, stack.url, "admin")
    browser.get_log("browser")  # what came before is not this test's
    browser.get(f"{stack.url}/assignments/{manager}/gradebook/")
    # Bars drawn from SVG attributes, which the policy does not govern (pixels on screen).
    bars = [rect.rect["height"] for rect in browser.find_elements(By.CSS_SELECTOR, "#histogram rect")]
    assert max(bars) > 50
    submission = browser.find_element(By.CSS_SELECTOR, "#gradebook td.actions a").get_attribute("href")
    for url in (
        f"{stack.url}/",
        f"{stack.url}/assignments/{manager}/",
        f"{stack.url}/assignments/{manager}/settings/",
        submission,
        f"{stack.url}/no-such-page/",
        f"{stack.url}/admin/",
        f"{stack.url}/admin/submissions/submission/",
        f"{stack.url}/admin/submissions/assignment/{manager}/change/",
    ):
        browser.get(url)
        wait(browser).until(EC.presence_of_element_located((By.TAG_NAME, "h1")))
    refused = [
        entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]
    ]
    assert refused == []


NEW_COURSE = """
from django.contrib.auth import get_user_model
from submissions.models import Course
users = get_user_model().objects
course, _ = Course.objects.get_or_create(code="cloud-labs", defaults={"name": "Cloud Labs"})
course.instructors.add(users.get(username="ada"))
course.students.add(users.get(username="alice"))
"""


def course_section(driver: WebDriver, name: str):
    return driver.find_element(By.XPATH, f"//section[h2[normalize-space()='{name}']]")


def test_an_instructor_publishes_lab_07_as_a_package_and_a_student_is_graded_with_it(browser, stack, workers, tmp_path):
    stack.shell(NEW_COURSE)
    archive = tmp_path / "lab07.zip"
    archive.write_bytes(zip_folder(LAB07))
    log_in(browser, stack.url, "ada")
    course_section(browser, "Cloud Labs").find_element(By.LINK_TEXT, "Publish a lab").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Publish a lab: Cloud Labs"))

    with workers.holding("admin"):
        browser.find_element(By.CSS_SELECTOR, "#package-form input[type=file]").send_keys(str(archive))
        browser.find_element(By.CSS_SELECTOR, "#package-form button").click()
        wait(browser).until(EC.url_matches(r"/packages/\d+/$"))
        status = browser.find_element(By.ID, "package-status")
        assert status.text == "Validating: 0 of 25 scripts graded"
        assert not browser.find_elements(By.ID, "publish-form")
        screenshot(browser, "package-validating.png")

    # The validation runs on a worker; the page shows its progress in place, then reloads once.
    progress = browser.find_element(By.ID, "package-progress")

    def moved(_) -> bool:
        try:
            return int(progress.get_attribute("value") or 0) > 0
        except StaleElementReferenceException:
            return True  # already reloaded: finished between two looks (25 scripts take ~10 s)

    wait(browser, GRADING_TIMEOUT).until(moved)
    wait(browser, GRADING_TIMEOUT).until(EC.staleness_of(status))
    wait(browser).until(EC.text_to_be_present_in_element((By.ID, "package-status"), "Valid: ready to publish"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#validation-report tbody tr")
    assert len(rows) == 25 and all(row.get_attribute("class") == "ok" for row in rows)
    client = browser.find_element(By.CSS_SELECTOR, '#validation-report tr[data-script="solutions/client.py"]')
    assert "10/10" in client.text
    assert "no submissions yet" in browser.find_element(By.ID, "preview-summary").text
    screenshot(browser, "package-valid.png")

    browser.find_element(By.CSS_SELECTOR, "#publish-form button").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".message"), "Published version 1"))
    assert not browser.find_elements(By.ID, "publish-form")
    assert LAB07_TITLE in browser.find_element(By.ID, "current-for").text
    screenshot(browser, "package-published.png")

    log_in(browser, stack.url, "alice")
    course_section(browser, "Cloud Labs").find_element(By.LINK_TEXT, LAB07_TITLE).click()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), LAB07_TITLE))
    browser.find_element(By.CSS_SELECTOR, "#upload-form input[type=file]").send_keys(
        str(LAB07 / "solutions" / "client.py")
    )
    browser.find_element(By.CSS_SELECTOR, "#upload-form button").click()
    wait(browser).until(EC.url_matches(r"/submissions/\d+/$"))
    wait(browser, GRADING_TIMEOUT).until(EC.text_to_be_present_in_element((By.ID, "live-status"), "Graded"))
    wait(browser).until(EC.visibility_of_element_located((By.ID, "score")))
    assert browser.find_element(By.ID, "score").text == "10/10"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".checks li.pass")) == 5
    screenshot(browser, "package-student-graded.png")
