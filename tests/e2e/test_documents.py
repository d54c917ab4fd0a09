"""Medical documents in real browsers, end to end: inside a consultation the patient (on
a phone, on a throttled mobile upload) sends a photo and a PDF at once and watches each
one's progress; the doctor's room shows them live as not reviewed; the doctor opens
each in the viewer (a new tab), zooms and rotates by keyboard and buttons, comments and
marks the photo reviewed; the patient sees the review live in the room, in the viewer
and in "My documents". Two browser contexts, one per person; CSRF on, as in production."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from consult.documents.models import Document
from core.extensions import db
from tests.e2e.browser import ARTIFACTS, account_link, screenshots_on_failure, sign_in
from tests.fixtures.documents import pdf_bytes

PHONE = {"width": 390, "height": 844}
DOCTOR = "Aigerim Sadykova"
SEEN_AS = f"Dr {DOCTOR}, on-duty doctor"  # consult.doctors.doctor_label
COMMENT = "No fracture. <b>Repeat</b> the X-ray in two weeks."
# A slow mobile uplink (bytes per second), so that a photo of a few MB takes a second or
# two and the page gets several progress events (loopback would send it at once).
UPLINK = 1_000_000
# The viewer's review line before any review (its wording may change).
NOT_REVIEWED = re.compile(r"\bnot reviewed\b", re.IGNORECASE)

# Keeps every state the upload queue goes through: for each file's row, the progress
# bar's value and the status line, after each change the page's script makes.
RECORD_QUEUE = """(queue) => {
  window.__uploads = [];
  const snapshot = () => queue.querySelectorAll("li.upload-item").forEach((li) => {
    window.__uploads.push({item: li.querySelector("input[type=text]").id,
                           value: li.querySelector("progress").value,
                           status: li.querySelector(".upload-status").textContent});
  });
  new MutationObserver(snapshot).observe(queue, {subtree: true, childList: true,
                                                 characterData: true, attributes: true});
}"""

LOADED = """(img) => img.complete && img.naturalWidth > 0"""


@pytest.fixture
def consultation(taken_room: Any) -> dict[str, Any]:
    """A consultation the on-duty doctor has taken: both can open its room."""
    return taken_room(DOCTOR, "Fell on my wrist", "chat")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A phone photo of about 3 MB (noise does not compress) and a two-page PDF."""
    from PIL import Image

    width, height = 2000, 1500
    photo = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90)
    assert out.tell() > 2 * 1024 * 1024
    jpeg = tmp_path / "IMG_2041.jpg"
    jpeg.write_bytes(out.getvalue())
    pdf = tmp_path / "blood-test.pdf"
    pdf.write_bytes(pdf_bytes("Haemoglobin 131 g/L", pages=2))
    return {"jpeg": jpeg, "pdf": pdf}


@pytest.fixture
def rooms(browser: Any, demo_server: Any, consultation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The doctor (desktop) and the patient (phone) signed in through the login page,
    each in the consultation's room with its socket joined."""
    base = demo_server.url
    doctor_ctx = browser.new_context(locale="en-US")
    patient_ctx = browser.new_context(locale="en-US", viewport=PHONE, has_touch=True,
                                      is_mobile=True)
    errors: list[str] = []
    pages: dict[str, Any] = {}
    for name, ctx in (("doctor", doctor_ctx), ("patient", patient_ctx)):
        ctx.set_default_timeout(15_000)
        # Every page of the context, the viewer's new tabs too, reports its errors.
        ctx.on("page", lambda p, n=name: p.on(
            "console", lambda m: errors.append(f"{n}: {m.text}") if m.type == "error" else None))
        pages[name] = ctx.new_page()
    with screenshots_on_failure(pages, "documents"):
        sign_in(pages["doctor"], base, consultation["doctor"], with_code=True)
        pages["doctor"].wait_for_url("**/consult/desk")
        sign_in(pages["patient"], base, consultation["patient"], with_code=False)
        pages["patient"].wait_for_url("**/account")
        room = f"{base}/consult/{consultation['id']}"
        for page in pages.values():
            page.goto(room)
            expect(page.locator("#connection")).to_have_text("Connected.")
            page.evaluate("window.__notReloaded = true")
        yield {"doctor": pages["doctor"], "patient": pages["patient"], "pages": pages,
               "doctor_ctx": doctor_ctx, "patient_ctx": patient_ctx, "errors": errors,
               "base": base}
    doctor_ctx.close()
    patient_ctx.close()


def open_in_new_tab(context: Any, link: Any) -> Any:
    """Click a link that opens in a new tab (target=_blank); the new tab, loaded."""
    expect(link).to_have_attribute("target", "_blank")
    with context.expect_page() as info:
        link.click()
    tab = info.value
    tab.wait_for_load_state()
    return tab


def test_patient_uploads_doctor_reviews_patient_sees_the_review(rooms, consultation, files):
    doctor, patient = rooms["doctor"], rooms["patient"]
    pages = rooms["pages"]
    with screenshots_on_failure(pages, "documents"):
        # Nothing yet on either side.
        expect(doctor.locator("#documents-list")).to_contain_text(
            "The patient has not uploaded documents.")
        expect(patient.locator("#documents-list")).to_contain_text(
            "No documents uploaded in this consultation yet.")
        expect(doctor.locator("#documents-panel form[data-upload]")).to_have_count(0)

        # The patient opens the upload form and chooses a photo and a PDF at once.
        panel = patient.locator("#documents-panel")
        form = panel.locator("form[data-upload]")
        expect(form).to_be_hidden()
        panel.get_by_text("Upload documents for the doctor").click()
        expect(form).to_be_visible()
        patient.get_by_label("Files").set_input_files([files["jpeg"], files["pdf"]])
        items = form.locator("li.upload-item")
        expect(items).to_have_count(2)
        photo, pdf = items.nth(0), items.nth(1)
        size_mb = f"{files['jpeg'].stat().st_size / 1048576:.1f} MB"
        expect(photo.locator(".upload-name")).to_have_text(f"IMG_2041.jpg · {size_mb}")
        # Each file has its own fields, filled from its name and today's date.
        expect(patient.locator("#upload-1-title")).to_have_value("IMG_2041")
        expect(patient.locator("#upload-2-title")).to_have_value("blood-test")
        expect(patient.locator("#upload-1-date")).to_have_value("2026-03-30")
        for item in (photo, pdf):
            expect(item.locator("progress")).to_have_attribute("value", "0")
            expect(item.locator(".upload-status")).to_have_text("Ready to upload")
        photo.get_by_label("Title").fill("Wrist X-ray")
        photo.get_by_label("Type").select_option(label="Imaging report")
        pdf.get_by_label("Title").fill("Blood test")
        pdf.get_by_label("Date of the document").fill("2026-03-27")
        pdf.get_by_label("Type").select_option(label="Lab result")
        ARTIFACTS.mkdir(exist_ok=True)  # for a look at the phone layout
        form.screenshot(path=str(ARTIFACTS / "documents-upload-phone.png"))

        # Upload on a slow mobile uplink, recording every state of the queue.
        patient.evaluate(RECORD_QUEUE, form.locator("[data-queue]").element_handle())
        network = rooms["patient_ctx"].new_cdp_session(patient)
        network.send("Network.enable")
        network.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 40, "downloadThroughput": -1,
            "uploadThroughput": UPLINK})
        form.get_by_role("button", name="Upload").click()
        expect(photo.locator(".upload-status")).to_have_text(re.compile(r"^Uploading… \d+%$"))
        expect(form.get_by_role("button", name="Upload")).to_be_disabled()
        for item in (photo, pdf):
            expect(item.locator(".upload-status")).to_have_text(
                "Uploaded Open", timeout=30_000)
            expect(item.locator(".upload-status")).to_have_class(re.compile(r"\bok\b"))
            expect(item.locator("progress")).to_have_attribute("value", "100")
            expect(item.get_by_role("link", name="Open")).to_have_attribute(
                "href", re.compile(r"^/documents/\d+$"))
            expect(item.get_by_role("button", name="Remove")).to_have_count(0)
        expect(form.get_by_role("button", name="Upload")).to_be_enabled()
        network.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        network.detach()

        # The photo's bar rose in steps before it was done: partial values with a
        # percentage, then "Uploaded" at 100.
        states = [s for s in patient.evaluate("window.__uploads")
                  if s["item"] == "upload-1-title"]
        done_at = next(i for i, s in enumerate(states) if s["status"].startswith("Uploaded"))
        partial = [s for s in states[:done_at] if 0 < s["value"] < 100]
        assert partial, states
        assert any(re.fullmatch(r"Uploading… \d+%", s["status"]) for s in partial), states
        assert len({s["value"] for s in partial}) >= 2, states  # more than one event
        assert states[done_at - 1]["status"] == "Checking the file…", states  # all sent
        assert states[done_at]["value"] == 100
        values = [s["value"] for s in states[:done_at + 1]]
        assert values == sorted(values), values  # never went back

        db.session.commit()
        stored = {d.title: d for d in db.session.query(Document).all()}
        assert set(stored) == {"Wrist X-ray", "Blood test"}
        xray, blood = stored["Wrist X-ray"], stored["Blood test"]
        assert (xray.kind, xray.content_type, xray.consultation_id) == (
            "imaging_report", "image/jpeg", consultation["id"])
        assert (blood.kind, blood.page_count, blood.document_date.isoformat()) == (
            "lab_result", 2, "2026-03-27")
        assert xray.status == blood.status == "ready"

        # The patient's own panel lists both, not reviewed yet.
        mine = patient.locator("#documents-list li.document")
        expect(mine).to_have_count(2)
        for li in (mine.filter(has_text="Wrist X-ray"), mine.filter(has_text="Blood test")):
            expect(li.locator(".badge")).to_have_text("Not reviewed yet")

        # The doctor's room shows them live (no reload), marked as not reviewed.
        docs = doctor.locator("#documents-list li.document")
        expect(docs).to_have_count(2)
        expect(doctor.locator("#documents-list li.document.unreviewed")).to_have_count(2)
        expect(doctor.locator("#documents-list > p.muted")).to_have_text(
            "2 documents not reviewed")
        doc_xray = docs.filter(has_text="Wrist X-ray")
        doc_blood = docs.filter(has_text="Blood test")
        expect(doc_xray.locator(".badge")).to_have_text("Not reviewed yet")
        expect(doc_xray).to_contain_text("Imaging report · Mar 30, 2026")
        expect(doc_blood).to_contain_text("Lab result · Mar 27, 2026 · 2 pages")
        for li in (doc_xray, doc_blood):  # the thumbnails load
            li.locator("img.thumb").scroll_into_view_if_needed()
            doctor.wait_for_function(LOADED, arg=li.locator("img.thumb").element_handle())
        assert doctor.evaluate("window.__notReloaded") is True

        # The doctor opens the PDF in a new tab: its pages are images rendered on the
        # server, each of which loads.
        viewer = open_in_new_tab(rooms["doctor_ctx"],
                                 doc_blood.get_by_role("link", name="Blood test"))
        pages["doctor-pdf"] = viewer
        expect(viewer).to_have_title(re.compile("^Blood test"))
        page_images = viewer.locator(".viewer-stage img.page")
        expect(page_images).to_have_count(2)
        for n in (1, 2):
            img = viewer.get_by_role("img", name=f"Page {n} of 2")
            img.scroll_into_view_if_needed()
            viewer.wait_for_function(LOADED, arg=img.element_handle())
        assert page_images.first.evaluate("(img) => img.naturalWidth") == 1240
        expect(viewer.locator("#review-status")).to_have_text(NOT_REVIEWED)
        viewer.close()

        # The photo: zoom and rotate by keyboard, then by the buttons.
        viewer = open_in_new_tab(rooms["doctor_ctx"],
                                 doc_xray.get_by_role("link", name="Wrist X-ray"))
        pages["doctor-viewer"] = viewer
        image = viewer.locator(".viewer-stage img.page")
        expect(image).to_have_count(1)
        viewer.wait_for_function(LOADED, arg=image.element_handle())
        assert image.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [2000, 1500]
        zoom = viewer.locator("[data-zoom-label]")
        expect(zoom).to_have_text("Zoom: 100%")
        viewer.locator(".viewer-stage").focus()
        viewer.keyboard.type("+")
        expect(zoom).to_have_text("Zoom: 125%")
        expect(image).to_have_attribute("style", re.compile(r"width: 125%"))
        viewer.keyboard.type("r")
        expect(image).to_have_attribute("style", re.compile(r"rotate\(90deg\)"))
        expect(image).to_have_class(re.compile(r"\bsideways\b"))
        viewer.keyboard.type("-")
        expect(zoom).to_have_text("Zoom: 100%")
        viewer.get_by_role("button", name="Zoom in").click()
        viewer.get_by_role("button", name="Zoom in").click()
        expect(zoom).to_have_text("Zoom: 156%")
        viewer.get_by_role("button", name="Rotate left").click()
        expect(image).not_to_have_class(re.compile(r"\bsideways\b"))
        expect(image).not_to_have_attribute("style", re.compile("rotate"))
        viewer.get_by_role("button", name="Rotate right").click()
        expect(image).to_have_attribute("style", re.compile(r"rotate\(90deg\)"))
        viewer.get_by_role("button", name="Fit").click()
        expect(zoom).to_have_text("Zoom: 100%")
        expect(image).not_to_have_class(re.compile(r"\bsideways\b"))
        image.evaluate("(img) => Promise.all(img.getAnimations().map((a) => a.finished))")
        ARTIFACTS.mkdir(exist_ok=True)
        viewer.screenshot(path=str(ARTIFACTS / "documents-viewer.png"))

        # The doctor comments and marks it reviewed.
        expect(viewer.locator("#review-status")).to_have_text(NOT_REVIEWED)
        viewer.get_by_label("Comment for the patient (optional)").fill(COMMENT)
        viewer.get_by_role("button", name="Mark as reviewed").click()
        expect(viewer.get_by_text("Marked as reviewed.")).to_be_visible()
        reviewed = f"Reviewed by {SEEN_AS} on March 30, 2026"
        expect(viewer.locator("#review-status")).to_have_text(reviewed)
        expect(viewer.locator("#review-comment")).to_have_text(COMMENT)  # text, not HTML
        expect(viewer.get_by_role("button", name="Update the review")).to_be_visible()
        expect(viewer.get_by_role("link", name="Back to the consultation")).to_have_attribute(
            "href", f"/consult/{consultation['id']}")

        # The room's panels follow live, on both sides.
        expect(doctor.locator("#documents-list li.document.unreviewed")).to_have_count(1)
        expect(doctor.locator("#documents-list > p.muted")).to_have_text(
            "1 document not reviewed")
        expect(doc_xray.locator(".badge")).to_have_text(f"Reviewed by {SEEN_AS} on Mar 30, 2026")
        expect(doc_blood).to_have_class(re.compile(r"\bunreviewed\b"))
        mine_xray = patient.locator("#documents-list li.document").filter(has_text="Wrist X-ray")
        expect(mine_xray.locator(".badge")).to_have_text(f"Reviewed by {SEEN_AS} on Mar 30, 2026")
        assert doctor.evaluate("window.__notReloaded") is True
        assert patient.evaluate("window.__notReloaded") is True

        # The patient opens it from the room (a new tab on the phone): the review and the
        # comment, no review form, and the image.
        mine_viewer = open_in_new_tab(rooms["patient_ctx"],
                                      mine_xray.get_by_role("link", name="Wrist X-ray"))
        pages["patient-viewer"] = mine_viewer
        expect(mine_viewer.locator("#review-status")).to_have_text(reviewed)
        expect(mine_viewer.locator("#review-comment")).to_have_text(COMMENT)
        expect(mine_viewer.locator("textarea#comment")).to_have_count(0)
        expect(mine_viewer.get_by_role("button", name="Mark as reviewed")).to_have_count(0)
        mine_image = mine_viewer.locator(".viewer-stage img.page")
        mine_viewer.wait_for_function(LOADED, arg=mine_image.element_handle())
        expect(mine_viewer.locator("article > p").last.get_by_role("link")).to_have_text(
            "Back to the consultation")  # uploaded in it, and it is still open

        # And in "My documents": the photo reviewed, the PDF not yet.
        account_link(patient, "My documents").click()
        patient.wait_for_url("**/documents/")
        listed = patient.locator("#documents li.document")
        expect(listed).to_have_count(2)
        expect(listed.filter(has_text="Wrist X-ray").locator(".badge")).to_have_text(
            f"Reviewed by {SEEN_AS} on Mar 30, 2026")
        expect(listed.filter(has_text="Blood test").locator(".badge")).to_have_text(
            "Not reviewed yet")

    db.session.commit()
    db.session.refresh(xray)
    assert xray.reviewed_by_id == consultation["doctor"].id
    assert xray.review_comment == COMMENT
    db.session.refresh(blood)
    assert blood.reviewed_at is None
    assert not [e for e in rooms["errors"] if "favicon" not in e], rooms["errors"]
