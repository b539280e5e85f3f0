import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_shots(page):
    log_in(page, "district_admin")
    page.screenshot(path="/tmp/shot-home.png", full_page=True)
    page.goto(page.base_url + "/register/schools/")
    page.screenshot(path="/tmp/shot-schools.png", full_page=True)
