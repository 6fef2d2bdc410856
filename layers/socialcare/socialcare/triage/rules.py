"""The explainable layer over the model: is the post directed at us, and what placement did.

The model says whether a post reads as a complaint; these rules say whether it can be
ours, in words an agent or a data-protection officer can check:
- In brand mode a post must name the brand (its names, products or own handles, as the
  masking found them) or be `addressed` by where it sits (our review page, a comment
  under our post, a tag of our account). Otherwise it is not a complaint about us,
  whatever it says.
- In "any" mode (generic data, no brand file) it must @-mention some account or be
  `addressed`: a complaint is directed at someone.
- A post without a single word (a bare star rating, emoji only) is no complaint: there
  is nothing we could offer help with. Its stars are said not to count.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialcare.triage.features import BRAND, OTHER, SPECIAL

NOT_DIRECTED = {"brand": "not about the brand", "any": "not addressed to any account"}


@dataclass(frozen=True)
class Verdict:
    allowed: bool  # may the model's score make it a complaint?
    reasons: list[str]


def judge(toks: list[str], *, mode: str, addressed: bool, stars: int | None) -> Verdict:
    named = BRAND in toks
    has_words = any(t[0].isalnum() and t not in SPECIAL for t in toks)
    reasons: list[str] = []
    if addressed and not named:
        reasons.append("placement: addressed to us")
    if stars is not None:
        reasons.append(
            f"stars: {stars}/5" if has_words else f"stars: {stars}/5, not counted without words"
        )
    if OTHER in toks:
        reasons.append("names another company")
    if not has_words:
        reasons.append("no words to read")
        return Verdict(False, reasons)
    if not (named or addressed):
        reasons.append(NOT_DIRECTED[mode])
        return Verdict(False, reasons)
    return Verdict(True, reasons)
