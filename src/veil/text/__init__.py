"""Text that sells "undressing": the detector for ads, bot names and links.

``normalize`` undoes the obfuscations such ads use; ``detector`` scores the result
with a small linear model over character n-grams (``model.npz``, built by
``veil.text.train`` from the labelled set in ``tests/data/text``) and says what it saw.
"""
