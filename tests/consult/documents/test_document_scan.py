"""The optional virus check (CLAMD_SOCKET): a server speaking clamd's INSTREAM protocol
on a Unix socket stands in for clamd (its signature database cannot be fetched here)."""

from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from consult.documents.models import Document
from core.extensions import db
from tests.fixtures.documents import jpeg_bytes, pdf_bytes, upload

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class FakeClamd:
    """Answers ``zINSTREAM``: FOUND when the stream holds the EICAR test string."""

    def __init__(self, path: str, max_length: int = 10**9) -> None:
        self.path = path
        self.max_length = max_length
        self.scanned = 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(8)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\0"):
                    data += conn.recv(1)
                assert data == b"zINSTREAM\0"
                stream = b""
                while True:
                    size = struct.unpack(">I", self._exact(conn, 4))[0]
                    if size == 0:
                        break
                    stream += self._exact(conn, size)
                self.scanned += 1
                if len(stream) > self.max_length:  # clamd's StreamMaxLength
                    conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                    continue
                found = EICAR in stream
                conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if found
                             else b"stream: OK\0")

    @staticmethod
    def _exact(conn: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def close(self) -> None:
        self.server.close()
        os.unlink(self.path)


@pytest.fixture
def clamd_path(tmp_path) -> str:
    return str(tmp_path / "clamd.sock")


def _pdf_with_eicar() -> bytes:
    pdf = pdf_bytes()
    return pdf[:-6] + b"\n% " + EICAR + b"\n%%EOF\n"


def test_a_clean_file_is_scanned_and_shown(app, docs, clamd_path):
    clamd = FakeClamd(clamd_path)
    app.config["CLAMD_SOCKET"] = clamd_path
    try:
        r = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id)
        assert r.status_code == 201 and r.json["status"] == "ready"
        assert clamd.scanned == 1
    finally:
        clamd.close()


def test_an_infected_file_is_refused_and_nothing_is_kept(app, docs, clamd_path):
    clamd = FakeClamd(clamd_path)
    app.config["CLAMD_SOCKET"] = clamd_path
    try:
        r = upload(docs["pc"], _pdf_with_eicar(), "x.pdf", insured_id=docs["insured"].id)
        assert r.status_code == 422
        assert "virus check found a threat" in r.json["errors"]["file"][0]
    finally:
        clamd.close()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    assert not list(Path(app.config["DOCUMENTS_DIR"]).rglob("*.*"))


def test_while_the_scanner_is_down_files_stay_pending_and_unseen(app, docs, clamd_path):
    app.config["CLAMD_SOCKET"] = clamd_path  # nothing listens there yet
    clean = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id)
    infected = upload(docs["pc"], _pdf_with_eicar(), "y.pdf", insured_id=docs["insured"].id)
    assert (clean.status_code, clean.json["status"]) == (201, "pending")
    assert infected.json["status"] == "pending"
    for doc_id in (clean.json["id"], infected.json["id"]):
        assert docs["pc"].get(f"/documents/{doc_id}/file").status_code == 409
        assert docs["pc"].get(f"/documents/{doc_id}/thumbnail").status_code == 409
        assert docs["dc"].get(f"/documents/{doc_id}").status_code == 404
    page = docs["pc"].get(f"/documents/{clean.json['id']}").get_data(as_text=True)
    assert "being checked for viruses" in page

    # The scanner is back: the backlog is scanned (as `flask serve` does every 30 s).
    clamd = FakeClamd(clamd_path)
    try:
        result = app.test_cli_runner().invoke(args=["documents", "scan"])
        assert "ready 1, rejected 1, still pending 0" in result.output, result.output
    finally:
        clamd.close()
    db.session.commit()
    rejected = db.session.get(Document, infected.json["id"])
    assert rejected.status == "rejected" and rejected.blob_key is None
    assert docs["dc"].get(f"/documents/{clean.json['id']}/image").status_code == 200
    assert docs["pc"].get(f"/documents/{infected.json['id']}/file").status_code == 409
    listing = docs["pc"].get("/documents/").get_data(as_text=True)
    assert "Did not pass the virus check" in listing


def test_a_rescan_with_the_scanner_still_down_changes_nothing(app, docs, clamd_path):
    app.config["CLAMD_SOCKET"] = clamd_path
    doc_id = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id).json["id"]
    result = app.test_cli_runner().invoke(args=["documents", "scan"])
    assert "still pending 1" in result.output
    db.session.commit()
    assert db.session.get(Document, doc_id).status == "pending"


def test_a_file_clamd_cannot_scan_stays_pending_without_holding_up_the_others(app, docs,
                                                                              clamd_path):
    app.config["CLAMD_SOCKET"] = clamd_path  # down while both are uploaded
    big = upload(docs["pc"], pdf_bytes(pages=30), "big.pdf", insured_id=docs["insured"].id)
    small = upload(docs["pc"], jpeg_bytes(), insured_id=docs["insured"].id)
    clamd = FakeClamd(clamd_path, max_length=len(jpeg_bytes()) * 4)
    try:
        result = app.test_cli_runner().invoke(args=["documents", "scan"])
    finally:
        clamd.close()
    assert "ready 1, rejected 0, still pending 1" in result.output, result.output
    db.session.commit()
    assert db.session.get(Document, big.json["id"]).status == "pending"
    assert db.session.get(Document, small.json["id"]).status == "ready"
