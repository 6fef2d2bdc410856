"""A CRM and a help desk behind one CRM port (`CrmKind` `<crm>+<helpdesk>`, e.g.
`hubspot+zendesk`): the CRM says who someone is; the help desk, where the conversations
live, says whether customer service is already in contact and keeps our outreach note.

The help desk knows the customer by the e-mail address the CRM holds, so the composite
remembers the customers the CRM returned (triage asks for a customer's conversations
right after finding them) and reads one by id otherwise (the mailer's container).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Protocol

from socialcare.errors import CrmError
from socialcare.models import Customer, Interaction

REMEMBERED = 1024  # customers kept per container: the last few batches' worth


class VendorCrm(Protocol):
    """A CRM that can also read one customer by id (the vendor adapters)."""

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]: ...

    def find_by_email(self, email: str) -> list[Customer]: ...

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]: ...

    def customer(self, customer_id: str) -> Customer | None: ...


class HelpDesk(Protocol):
    def conversations(self, customer: Customer, since: datetime) -> list[Interaction]: ...

    def record(self, customer: Customer, interaction: dict[str, object]) -> None: ...


class CompositeCrm:
    def __init__(self, crm: VendorCrm, helpdesk: HelpDesk) -> None:
        self.crm = crm
        self.helpdesk = helpdesk
        self._known: OrderedDict[str, Customer] = OrderedDict()

    def _remember(self, customers: list[Customer]) -> list[Customer]:
        for customer in customers:
            self._known[customer.id] = customer
            self._known.move_to_end(customer.id)
        while len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        return customers

    def _customer(self, customer_id: str) -> Customer:
        known = self._known.get(customer_id)
        if known is None:
            found = self.crm.customer(customer_id)
            if found is None:
                raise CrmError("the CRM has no customer of that id")
            known = self._remember([found])[0]
        return known

    def find_by_handle(self, platform: str, handle: str) -> list[Customer]:
        return self._remember(self.crm.find_by_handle(platform, handle))

    def find_by_email(self, email: str) -> list[Customer]:
        return self._remember(self.crm.find_by_email(email))

    def find_by_name(self, name: str, limit: int = 10) -> list[Customer]:
        return self._remember(self.crm.find_by_name(name, limit))

    def interactions(self, customer_id: str, since: datetime) -> list[Interaction]:
        return self.helpdesk.conversations(self._customer(customer_id), since)

    def record_interaction(self, customer_id: str, interaction: dict[str, object]) -> None:
        self.helpdesk.record(self._customer(customer_id), interaction)
