"""The hash exchange: Veil as a StopNCII-shaped hub for partners, and as a client
that pulls other hubs' lists into its banks and sends feedback back.

* ``stopncii_format``: the StopNCII hash-exchange wire shapes (records, pages,
  submissions, feedback), read tolerantly, written exactly.

May import ``store``, ``matching``, ``verdict``, ``signals``, ``config`` and
``errors``; never ``api`` or ``cli``.
"""
