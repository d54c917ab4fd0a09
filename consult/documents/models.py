"""Medical documents patients upload: the row describes the file; the file itself is
sealed (AES-256-GCM, core.sealed) in the blob store under a random key.

Titles, file names and review comments are health data: encrypted with DATA_KEYS
(core.crypto) like the chat.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.crypto import decrypt
from core.db import UTCDateTime
from core.extensions import Model

if TYPE_CHECKING:
    from accounts.models import User

KINDS = ("lab_result", "discharge_summary", "prescription", "imaging_report", "other")
# pending: waiting for the virus scanner (nobody sees the contents yet); ready; rejected:
# the scanner found something (the file is deleted, the row tells the patient why).
STATUSES = ("pending", "ready", "rejected")
CONTENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


class Document(Model):
    """One uploaded document of an insured person, kept by their account."""

    __tablename__ = "document"
    __table_args__ = (Index("ix_document_insured", "insured_id", "uploaded_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    insured_id: Mapped[int] = mapped_column(ForeignKey("insured.id"))
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultation.id"),
                                                        index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title_encrypted: Mapped[str] = mapped_column(Text)
    file_name_encrypted: Mapped[str] = mapped_column(Text)
    document_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="ready")
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored plaintext
    key_id: Mapped[str] = mapped_column(String(32))  # the DOCUMENT_KEYS entry that sealed it
    blob_key: Mapped[str | None] = mapped_column(String(32))
    thumb_key: Mapped[str | None] = mapped_column(String(32))
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)  # images
    height: Mapped[int | None] = mapped_column(Integer)
    page_count: Mapped[int | None] = mapped_column(Integer)  # PDFs
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_comment_encrypted: Mapped[str | None] = mapped_column(Text)

    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def title(self) -> str:
        return decrypt(self.title_encrypted)

    @property
    def file_name(self) -> str:
        return decrypt(self.file_name_encrypted)

    @property
    def review_comment(self) -> str:
        return decrypt(self.review_comment_encrypted) if self.review_comment_encrypted else ""

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"
