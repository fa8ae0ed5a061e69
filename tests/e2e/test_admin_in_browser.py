"""A platform admin reviews tutor profiles on the admin page, on a phone-sized screen.

Real parts only: Debian's headless Chromium (driven by Playwright), the pages served by the
local stack, the API. The tutors submit through the API; the admin decides in the browser.
"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.slow

PHONE = {"width": 375, "height": 740}


def sign_in(page, account) -> None:
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    page.click("#sign-in")
    page.wait_for_selector("#signed-in", state="visible")


def submit_profile(api, tutor, subject: str) -> None:
    profile = {"subjects": [subject], "years_experience": 4, "hourly_rate_cents": 3000, "currency": "EUR"}
    response = api.put("/me/tutor-profile", json=profile, headers=tutor.headers)
    assert response.status_code == 200 and response.json()["approval"]["state"] == "pending", response.text


OVERFLOWING = """() => [...document.querySelectorAll("section *")]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => el.getBoundingClientRect().right > el.closest("section").getBoundingClientRect().right + 0.5)
  .map((el) => el.id || el.className || el.tagName)"""


def fits_the_screen(page) -> bool:
    """No horizontal scrolling, and nothing sticks out of its box."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] and page.evaluate(OVERFLOWING) == []


def find_card(page, user_id: str):
    """The tutor's card, paging the queue ("Show more") until it is shown."""
    selector = f"#tutor-{user_id}"
    for _ in range(50):
        if page.locator(selector).count():
            return page.locator(selector)
        assert page.is_visible("#more"), f"{user_id} is not in the queue"
        shown = page.evaluate("window.__admin.items.length")
        page.click("#more")
        page.wait_for_function(f"window.__admin.items.length > {shown} && !window.__admin.loading")
    raise AssertionError("the queue did not end")


def test_an_admin_approves_and_rejects_tutors_on_a_phone(stack, api, accounts, browser):
    # GIVEN two tutors waiting for review, and a platform admin on a 375 px wide screen
    subject = f"subject-{uuid.uuid4().hex[:8]}"
    good, unclear = accounts.create(role="tutor", display_name="Ada Approved"), accounts.create(role="tutor")
    submit_profile(api, good, subject)
    submit_profile(api, unclear, subject)
    admin = accounts.create(role="admin")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # WHEN the admin signs in on the admin page (which fits the screen)
    page.goto(f"{stack.web_url}/admin.html")
    assert fits_the_screen(page), page.evaluate(OVERFLOWING)
    sign_in(page, admin)
    page.wait_for_function("window.__admin.ready === true")

    # THEN both tutors are in the queue with what the admin needs, and nothing overflows the screen
    card = find_card(page, good.user_id)
    assert "Ada Approved" in card.inner_text() and good.email in card.inner_text()
    assert subject in card.inner_text()
    find_card(page, unclear.user_id)
    assert fits_the_screen(page), page.evaluate(OVERFLOWING)

    # WHEN the admin approves the first tutor
    card.locator(".approve").click()
    page.wait_for_function(f"window.__admin.decided[{good.user_id!r}] === 'approved'")

    # THEN the tutor is listed in the directory
    listed = api.get("/tutors", params={"subject": subject}).json()["items"]
    assert [t["user_id"] for t in listed] == [good.user_id]

    # WHEN the admin rejects the second one, first without a reason, then with one
    other = find_card(page, unclear.user_id)
    other.locator(".reject").click()
    assert "reason" in other.locator(".card-error").inner_text().lower()
    assert api.get("/me", headers=unclear.headers).json()["tutor_profile"]["approval"]["state"] == "pending"
    other.locator(".reason-input").fill("Tell students what you teach, in a sentence or two.")
    other.locator(".reject").click()
    page.wait_for_function(f"window.__admin.decided[{unclear.user_id!r}] === 'rejected'")

    # THEN the tutor sees the reason, and is not listed
    mine = api.get("/me", headers=unclear.headers).json()["tutor_profile"]
    assert mine["approval"] == {**mine["approval"], "state": "rejected"}
    assert mine["approval"]["reason"] == "Tell students what you teach, in a sentence or two."
    assert [t["user_id"] for t in api.get("/tutors", params={"subject": subject}).json()["items"]] == [good.user_id]

    # AND the rejected list shows it with its reason
    page.check("input[name=state][value=rejected]")
    page.wait_for_function("window.__admin.view === 'rejected' && !window.__admin.loading")
    assert "Tell students what you teach" in find_card(page, unclear.user_id).inner_text()
    assert not errors, errors
    context.close()


def test_the_admin_page_is_refused_to_others(stack, accounts, browser):
    # GIVEN a student on the admin page
    student = accounts.create()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{stack.web_url}/admin.html")

    # WHEN they sign in THEN they are told the page is for admins, and no queue is shown
    sign_in(page, student)
    page.wait_for_selector("#not-admin", state="visible")
    assert page.is_hidden("#review")
    context.close()
