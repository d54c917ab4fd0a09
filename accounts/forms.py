"""Sign-in and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length


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


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"),
                            validators=[DataRequired(_l("Enter your current password."))])
    new = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a password."))])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(_l("Repeat the password."))])


class ChangeEmailForm(FlaskForm):
    email = EmailField(_l("New email"), validators=[DataRequired(_l("Enter your email."))])
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(_l("Enter your password."))])
