"""Safe decoding of untrusted media bytes.

Everything here treats input as hostile: size, pixel and frame limits are checked
from headers before pixels are decoded, and every failure is a ``VeilError`` with a
stable code. Imports nothing else from Veil except ``veil.errors`` and ``veil.config``.
"""
