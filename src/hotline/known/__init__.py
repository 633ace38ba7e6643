"""Known material: one lookup that answers "have we, or a trusted source, already graded
this?" for capture, taskforce imports and re-checks alike. Graded media and the live entries
of every hash list (ours and imported ones), by exact digest and PDQ, on `hotline.index`,
kept current incrementally. See docs/known.md."""

from hotline.known.inherit import inherited
from hotline.known.lookup import lookup
from hotline.known.model import KnownHashes, KnownMatch

__all__ = ["KnownHashes", "KnownMatch", "inherited", "lookup"]
