"""Events the portal emits for other modules.

``violation_determined`` is sent (on commit) when a breach case is upheld, with
``case`` (the :class:`~prm.portal.models.BreachCase`) and ``actor``. The credit module
(R3) turns it into a credit deduction; the partners module's exit service handles an
illegal-content case. The upheld case row itself is the durable record of the event.
"""

from django.dispatch import Signal

violation_determined = Signal()
