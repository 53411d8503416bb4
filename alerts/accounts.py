"""Accounts through django-allauth: sign-up (closable), e-mail verification, password reset and change.

Policy, set in settings (``ACCOUNT_*``):

- Sign-up is open unless ``ACCOUNT_SIGNUP_OPEN`` is false (private installs: staff create accounts in the admin).
- An address given at sign-up must be confirmed before the account signs in (``ACCOUNT_EMAIL_VERIFICATION``
  ``mandatory``). Accounts that staff create in the admin or with ``createsuperuser`` have no address on record
  with allauth; staff vouch for them, and they sign in with their username and password directly.
- One account per address; sign in with either the username or the address.
"""

# allauth ships no py.typed, and the mypy override in pyproject.toml does not silence its submodules.
from allauth.account import app_settings as allauth_settings  # type: ignore[import-untyped]
from allauth.account.adapter import DefaultAccountAdapter  # type: ignore[import-untyped]
from allauth.account.forms import LoginForm as AllauthLoginForm  # type: ignore[import-untyped]
from allauth.account.models import EmailAddress  # type: ignore[import-untyped]
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """allauth's adapter with sign-up closable by ``settings.ACCOUNT_SIGNUP_OPEN``."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ACCOUNT_SIGNUP_OPEN)


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form. An account with no address on record with allauth (made by staff, not by
    sign-up) is not held for e-mail verification: it has nothing to verify."""

    def clean(self):
        cleaned = super().clean()
        login = getattr(self, "_login", None)  # allauth 65's pending Login of the authenticated user
        if login is not None and not EmailAddress.objects.filter(user=login.user).exists():
            login.email_verification = allauth_settings.EmailVerificationMethod.NONE
        return cleaned


def account_context(request: HttpRequest) -> dict[str, bool]:
    """Template context of every page: ``signup_open`` (whether to offer sign-up)."""
    return {"signup_open": bool(settings.ACCOUNT_SIGNUP_OPEN)}
