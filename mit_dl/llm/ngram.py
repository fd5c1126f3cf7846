"""The baseline a language model must beat: an interpolated Kneser-Ney character n-gram model.

Kneser & Ney 1995, interpolated as in Chen & Goodman 1998: the probability
of character ``c`` after the context ``h`` (the last ``n - 1`` characters)
discounts every seen count by ``D`` and gives the mass taken to the
shorter context ``h'``:

    P(c | h) = max(N(h c) - D, 0) / N(h .) + D T(h) / N(h .) * P(c | h')

with ``N`` the counts at the highest order and, at lower orders, the
continuation counts (how many different characters precede ``h c``), and
``T(h)`` the number of different characters seen after ``h``. The shortest
context falls back to the uniform distribution over the 256 bytes. An
unseen context passes all its mass down. Characters here are bytes
(UTF-8), so bits per character is bits per byte: the two agree on ASCII
text such as the Shakespeare corpus.

Examples:
    >>> model = KneserNey.fit("abracadabra " * 50, order=3)
    >>> model.bits_per_character("abracadabra ") < 1.0
    True
"""

import collections
import math


class KneserNey:
    """Counts of a byte n-gram model; `fit` builds it, `bits_per_character` scores text.

    Args:
        order: the n of the n-grams (the context is ``order - 1`` bytes).
        discount: Kneser-Ney's ``D``.
    """

    def __init__(self, order=5, discount=0.75):
        self.order = order
        self.discount = discount
        self.counts = [collections.Counter() for _ in range(order + 1)]  # by n-gram length
        self.context_totals = [collections.Counter() for _ in range(order + 1)]
        self.context_types = [collections.Counter() for _ in range(order + 1)]

    @classmethod
    def fit(cls, text, order=5, discount=0.75):
        """Count ``text``'s n-grams.

        Args:
            text: the training text.
            order: the n of the n-grams.
            discount: Kneser-Ney's ``D``.

        Returns:
            The fitted `KneserNey`.
        """
        model = cls(order, discount)
        data = text.encode("utf-8")
        top = model.counts[order]
        for i in range(len(data) - order + 1):
            top[data[i : i + order]] += 1
        # Lower orders count continuations: the distinct bytes before each shorter n-gram.
        for n in range(order - 1, 0, -1):
            for gram in model.counts[n + 1]:
                model.counts[n][gram[1:]] += 1
        for n in range(1, order + 1):
            for gram, count in model.counts[n].items():
                model.context_totals[n][gram[:-1]] += count
                model.context_types[n][gram[:-1]] += 1
        return model

    def probability(self, context, byte):
        """``P(byte | context)``, interpolated down to the uniform distribution.

        Args:
            context: up to ``order - 1`` preceding bytes.
            byte: the next byte (an int).

        Returns:
            A float in ``(0, 1)``.
        """
        p = 1.0 / 256
        for n in range(1, self.order + 1):
            if n - 1 > len(context):
                break
            h = context[len(context) - (n - 1) :] if n > 1 else b""
            total = self.context_totals[n].get(h, 0)
            if total == 0:
                continue
            count = self.counts[n].get(h + bytes([byte]), 0)
            p = max(count - self.discount, 0) / total + self.discount * self.context_types[n][h] / total * p
        return p

    def bits_per_character(self, text):
        """Mean bits per byte of ``text`` (each byte predicted from the ones before it).

        Args:
            text: the held-out text.

        Returns:
            A float.
        """
        data = text.encode("utf-8")
        total = 0.0
        for i, byte in enumerate(data):
            total -= math.log2(self.probability(data[max(0, i - self.order + 1) : i], byte))
        return total / max(len(data), 1)
