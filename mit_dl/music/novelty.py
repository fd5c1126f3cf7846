"""How much of a generated song is copied from the training tunes.

Headers (title, meter, key, transcriber notes) repeat across real tunes, so
novelty is measured on a song's music lines only (after its ``K:`` line):

- ``longest_copy``: the longest run of characters that also appears somewhere
  in the training tunes, in characters and as a fraction of the body;
- ``ngram_copied``: the fraction of the body's character n-grams (default
  n = 16, about two bars) found in the training tunes;
- ``verbatim``: the whole body appears in the training tunes.

The same numbers for held-out real tunes show what chance overlap looks like
in this folk idiom (stock cadences and runs recur between real tunes too).
"""

from mit_dl.music.songs import header_and_body


class TrainingText:
    """The training tunes' music lines, indexed for copy checks.

    Args:
        tunes: the training tunes.
        n: the length of the runs of characters counted by `ngram_copied`.
    """

    def __init__(self, tunes, n=16):
        self.n = n
        self.text = "\n\n".join(header_and_body(t)[1] for t in tunes)
        self._ngrams = {self.text[i : i + n] for i in range(len(self.text) - n + 1)}

    def longest_copy(self, body):
        """Length of the longest substring of ``body`` that occurs in the training text.

        Args:
            body: a song's music lines.

        Returns:
            The number of characters.
        """
        best, start = 0, 0
        # Slide a window that only ever grows: O(len(body)) substring searches.
        while start + best < len(body):
            if body[start : start + best + 1] in self.text:
                best += 1
            else:
                start += 1
        return best

    def ngram_copied(self, body):
        """Share of the ``n``-character runs of ``body`` that occur in the training text.

        Args:
            body: a song's music lines.

        Returns:
            A fraction in [0, 1] (0 for a body shorter than ``n``).
        """
        grams = [body[i : i + self.n] for i in range(len(body) - self.n + 1)]
        if not grams:
            return 0.0
        return sum(g in self._ngrams for g in grams) / len(grams)

    def report(self, song):
        """How much one song copies from the training tunes, measured on its music lines.

        Args:
            song: the song's ABC text.

        Returns:
            ``{"body_chars", "longest_copy_chars", "longest_copy_fraction", "ngram<n>_copied", "verbatim"}``.
        """
        body = header_and_body(song)[1]
        longest = self.longest_copy(body)
        return {
            "body_chars": len(body),
            "longest_copy_chars": longest,
            "longest_copy_fraction": longest / len(body) if body else 0.0,
            f"ngram{self.n}_copied": self.ngram_copied(body),
            "verbatim": bool(body) and body in self.text,
        }


def summarise(reports):
    """Means of the per-song reports, and the count of verbatim copies.

    Args:
        reports: `TrainingText.report` of each song.

    Returns:
        ``{"mean_<key>": ..., "verbatim_copies", "songs"}``.
    """
    if not reports:
        return {"songs": 0}
    keys = [k for k in reports[0] if k != "verbatim"]
    summary = {f"mean_{k}": sum(r[k] for r in reports) / len(reports) for k in keys}
    summary["verbatim_copies"] = sum(r["verbatim"] for r in reports)
    summary["songs"] = len(reports)
    return summary
