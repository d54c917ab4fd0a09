"""The activation form. Field rules live in :mod:`activation.rules`; the form carries
CSRF and the labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField


class ActivationForm(FlaskForm):
    policy_number = StringField(_l("Policy number"))
    activation_code = StringField(_l("Activation code"))
    iin = StringField(_l("IIN of the insured person"),
                      description=_l("12 digits, as in the identity document."))
    full_name = StringField(_l("Full name of the insured person"),
                            description=_l("Surname, given name and patronymic, if any."))
    email = EmailField(_l("Email"),
                       description=_l("It becomes your login. Each product needs its own email."))
    consent = BooleanField(_l("I consent to the processing of my personal data"))
