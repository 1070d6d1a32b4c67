"""Pure: what kind of contact a sentence reports (meeting, call, plan, visit), and whether it
is old news. No I/O."""

from __future__ import annotations

from monitor.evidence import is_word
from monitor.lexicon import Cue, Lexicon
from monitor.models import EventKind
from monitor.tokens import Hit, Token

BACKGROUND_REACH = 6  # tokens from "had already" to the meeting phrase it puts in the past
FUTURE_REACH = 8  # tokens from "will"/"expected to" to the meeting phrase it puts ahead


def kind_of(
    toks: list[Token], cues: list[Hit[Cue]], lex: Lexicon
) -> tuple[EventKind | None, Hit[Cue] | None]:
    """What a sentence reports, from its cues: a call, a plan, a meeting or a visit, and the
    phrase that says so; None when it reports no contact."""

    def first(cue: Cue) -> Hit[Cue] | None:
        return next((c for c in cues if cue in c.values), None)

    meeting, visit, call = first(Cue.MEETING), first(Cue.VISIT), first(Cue.CALL)
    trigger = meeting or visit or call
    if trigger is None:
        return None, None
    if call is not None:
        return EventKind.CALL, meeting or call
    # the first act is what the sentence reports: "discussed plans for the upcoming
    # meeting" is talks held now; "… is expected to meet" is a plan
    act = next((c for c in cues if Cue.MEETING in c.values), trigger)
    if any(
        Cue.FUTURE in f.values
        and (
            f.first <= act.first <= f.last + FUTURE_REACH
            or (
                toks[f.first].text not in lex.ahead_only
                and (
                    0 < f.first - act.last <= 3  # "a meeting will also be held"
                    or act.first <= 1 < f.first  # "Meeting with X is also on his agenda"
                )
            )
        )
        for f in cues
    ) or any(Cue.FUTURE in c.values and Cue.MEETING in c.values for c in cues):
        return EventKind.PLANNED, trigger
    return (EventKind.MEETING if meeting else EventKind.VISIT), trigger


def old_news(trigger: Hit[Cue], cues: list[Hit[Cue]]) -> bool:
    """ "This visit follows talks already held in Moscow", "met him last year": a contact
    recalled as background, not reported."""
    return any(
        Cue.BACKGROUND in c.values
        and (
            c.first <= trigger.first <= c.last + BACKGROUND_REACH
            or 0 < c.first - trigger.last <= BACKGROUND_REACH
        )
        for c in cues
    )


def no_contact_object(lex: Lexicon, toks: list[Token], trigger: Hit[Cue]) -> bool:
    """ "received a letter from the king", "استقبل رسالة", "a reçu une invitation": what the
    verb took (within three words) is a thing, not a visitor."""
    if Cue.MEETING not in trigger.values:
        return False
    return any(
        is_word(t.text, lex.not_contact_object) for t in toks[trigger.last + 1 : trigger.last + 4]
    )
