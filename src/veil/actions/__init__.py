"""What a verdict sets off. Today: webhooks (signed, retried, at least once, from an
outbox in the database).

``sealing`` keeps webhook secrets encrypted at rest; ``webhook_events`` builds the
events of verdicts and signs and verifies deliveries; ``subscriptions`` checks and
creates subscriptions; ``delivery`` is the worker ``veil serve`` runs, which sends the
outbox's due deliveries with retries and backoff. Events enter the outbox with
``veil.store.outbox.enqueue``, inside the transaction that decided them.

May import ``veil.store``, ``veil.verdict``, ``veil.config``, ``veil.errors`` and
the standard library, httpx and cryptography; nothing imports it but ``veil.api``
and ``veil.cli``.
"""
