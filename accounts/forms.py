"""Sign-in and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email."))])
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(_l("Enter your password."))])


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             description=_l("At least 8 characters; a long phrase is best."),
                             validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(_l("Repeat the password."))])


class RequestLinkForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email."))])


class SecondFactorForm(FlaskForm):
    code = StringField(_l("Code"), description=_l(
        "The 6-digit code from your authenticator app, or one of your recovery codes."),
        validators=[DataRequired(_l("Enter the code."))])


class SimpleForm(FlaskForm):
    """A button: CSRF only."""


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Your name"), validators=[Length(max=150)])
    language = SelectField(_l("Language"), choices=[("ru", "Русский"), ("kk", "Қазақша"),
                                                    ("en", "English")])


_CODE_HINT = _l("The 6-digit code from your authenticator app, or one of your recovery codes.")


class ProofCode:
    """The second-factor code asked again with the password (the page shows it when the
    second factor is on; the service decides whether it is needed)."""

    code = StringField(_l("Code"), description=_CODE_HINT, validators=[Optional()])


class ChangePasswordForm(ProofCode, FlaskForm):
    current = PasswordField(_l("Current password"),
                            validators=[DataRequired(_l("Enter your current password."))])
    new = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(_l("Repeat the password."))])


class ChangeEmailForm(ProofCode, FlaskForm):
    email = EmailField(_l("New email"), validators=[DataRequired(_l("Enter your email."))])
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(_l("Enter your password."))])


class TurnOffSecondFactorForm(FlaskForm):
    """Turning the second factor off needs the password and a code."""

    password = PasswordField(_l("Password"),
                             validators=[DataRequired(_l("Enter your password."))])
    code = StringField(_l("Code"), description=_CODE_HINT,
                       validators=[DataRequired(_l("Enter the code."))])


class LanguagesField(SelectMultipleField):
    """Checkboxes, one a language (the template lays them out in a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DoctorProfileFields:
    """What patients see of a doctor; the specialty choices come from the specialties
    list (set by the page), so it is a picker, not a free-text code."""

    full_name = StringField(_l("Full name"), validators=[Length(max=150)],
                            description=_l("Required for doctors: patients see "
                                           "\"Dr Full Name, specialty\"."))
    on_duty = BooleanField(_l("On-duty doctor"))
    specialty = SelectField(_l("Specialty (for specialists)"), choices=[],
                            validate_choice=False)
    pediatric = BooleanField(_l("Sees children"))
    languages = LanguagesField(_l("Languages the doctor speaks"),
                               choices=[("ru", _l("Russian")), ("kk", _l("Kazakh")),
                                        ("en", _l("English"))], validate_choice=False)
    profile_line = StringField(_l("Short profile line (optional)"),
                               validators=[Length(max=200)],
                               description=_l("For example: 12 years in cardiology."))


class StaffForm(DoctorProfileFields, FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter an email."))])
    role = SelectField(_l("Role"), choices=[("doctor", _l("Doctor")),
                                            ("operator", _l("Insurer operator")),
                                            ("admin", _l("Administrator"))])


class StaffProfileForm(DoctorProfileFields, FlaskForm):
    """An admin changes a staff member's name and, for doctors, their profile."""
