"""Per-user row quotas (issue 14, item 10): how many alert rules, accounts or strategies one user may own.

Every app may import this module (``whales`` is the bottom of the import graph).
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet

from whales.errors import InvalidParameter


class QuotaExceeded(InvalidParameter):
    """400 ``quota_exceeded``: the user already owns as many rows of a kind as a ``LIMITS_*`` setting allows;
    nothing was created."""

    code = "quota_exceeded"
    default_detail = "Quota exceeded."


def owner_quota_check(*, owner_id: int, owned: QuerySet, limit: int, what: str) -> None:
    """Raise unless ``owner_id`` owns fewer than ``limit`` rows of ``owned`` (a queryset of that user's rows).

    Locks the user's row (``SELECT ... FOR UPDATE``) for the caller's transaction, so two concurrent creates
    by one user are counted one after the other: call it inside the ``transaction.atomic`` that inserts.
    Raises: QuotaExceeded ("<what>: you have N, the limit is N.") at or over the limit;
    TransactionManagementError outside a transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("owner_quota_check needs the creating transaction")
    list(get_user_model().objects.select_for_update().filter(pk=owner_id).values_list("pk", flat=True))
    count = owned.count()
    if count >= limit:
        raise QuotaExceeded(f"{what}: you have {count}, the limit is {limit}; delete one to create another.")
