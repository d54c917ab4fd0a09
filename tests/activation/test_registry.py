"""`flask policies import`: whole-file validation, idempotent re-import, hashed codes."""

from __future__ import annotations

from sqlalchemy import func, select

from activation.codes import code_matches
from activation.models import Policy
from core.extensions import db


def run_import(app, tmp_path, text, name="policies.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["policies", "import", str(path)])


def policy_count():
    return db.session.scalar(select(func.count()).select_from(Policy))


GOOD = """policy_number,activation_code,product,activate_by,iin
PD-0001,AAAA-1111,personal_doctor,,
PD-0002,BBBB-2222,personal_doctor,2027-01-31,871008401427
CD-0001,CCCC-3333,child_doctor,,
"""


def test_good_file_is_imported_and_reported(app, tmp_path):
    result = run_import(app, tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert "Imported 3 new policies; 0 already present" in result.output
    assert policy_count() == 3
    p2 = db.session.scalar(select(Policy).where(Policy.number == "PD-0002"))
    from activation.services import iin_lookup

    assert p2.expected_iin_hash == iin_lookup("871008401427")
    assert "871008401427" not in p2.expected_iin_hash
    assert str(p2.activate_by) == "2027-01-31"


def test_codes_are_stored_as_keyed_hashes(app, tmp_path):
    run_import(app, tmp_path, GOOD)
    p = db.session.scalar(select(Policy).where(Policy.number == "PD-0001"))
    assert "AAAA" not in p.code_hash and len(p.code_hash) == 64
    assert code_matches("AAAA-1111", p.code_hash)
    app.config["ACTIVATION_CODE_KEY"] = "another key"
    assert not code_matches("AAAA-1111", p.code_hash)


def test_any_bad_row_imports_nothing_and_every_bad_row_is_reported(app, tmp_path):
    text = """policy_number,activation_code,product,activate_by,iin
PD-0001,AAAA-1111,personal_doctor,,
PD-0002,,personal_doctor,,
PD-0003,CODE,dentist,,
PD-0004,CODE,child_doctor,31.01.2027,
PD-0005,CODE,personal_doctor,,123456789012
PD-0001,AAAA-1111,personal_doctor,,
,CODE,personal_doctor,,
"""
    result = run_import(app, tmp_path, text)
    assert result.exit_code == 1
    out = result.output
    for line, words in [(3, "activation_code is empty"), (4, "dentist"), (5, "ISO date"),
                        (6, "iin"), (7, "repeats line 2"), (8, "policy_number is empty")]:
        assert f"policies.csv:{line}:" in out and words in out, (line, out)
    assert "nothing imported" in out
    assert policy_count() == 0


def test_missing_and_unknown_columns_are_reported(app, tmp_path):
    result = run_import(app, tmp_path, "policy_number,code,product\nX,Y,personal_doctor\n")
    assert result.exit_code == 1
    assert "missing columns: activation_code" in result.output
    assert "unknown columns: code" in result.output


def test_reimporting_the_same_data_changes_nothing(app, tmp_path):
    run_import(app, tmp_path, GOOD)
    before = [(p.number, p.code_hash, p.imported_at) for p in db.session.scalars(
        select(Policy).order_by(Policy.number))]
    result = run_import(app, tmp_path, GOOD)
    assert result.exit_code == 0
    assert "Imported 0 new policies; 3 already present and unchanged" in result.output
    db.session.expire_all()
    after = [(p.number, p.code_hash, p.imported_at) for p in db.session.scalars(
        select(Policy).order_by(Policy.number))]
    assert before == after


def test_reimporting_a_number_with_different_data_is_an_error(app, tmp_path):
    run_import(app, tmp_path, GOOD)
    changed = GOOD.replace("CD-0001,CCCC-3333,child_doctor", "CD-0001,CCCC-9999,child_doctor")
    changed += "NEW-0001,DDDD-4444,personal_doctor,,\n"
    result = run_import(app, tmp_path, changed)
    assert result.exit_code == 1
    assert "policies.csv:4: policy_number CD-0001 already exists with different data" in (
        result.output)
    assert policy_count() == 3  # NEW-0001 not imported either


def test_non_utf8_file_is_refused(app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes("policy_number,activation_code,product\nА,Б,personal_doctor\n".encode("cp1251"))
    result = app.test_cli_runner().invoke(args=["policies", "import", str(path)])
    assert result.exit_code == 1 and "not UTF-8" in result.output


def test_utf8_bom_and_spaces_in_header_are_tolerated(app, tmp_path):
    result = run_import(app, tmp_path, "\ufeffpolicy_number, activation_code ,product\n"
                                        "PD-1,CODE-1,personal_doctor\n")
    assert result.exit_code == 0, result.output
    assert policy_count() == 1
