"""Every threshold the verifier's decision uses, in one place (docs/verifier.md names the
rules that use each one).

Probabilities (`*_p`) are the forced likelihood of a written word given the audio;
`*_lid` are Whisper's language-ID shares; `*_evidence` are the language check's margins
(difference in average token log-probability, plus the bonuses in `best_other`); `*_sim`
are letter similarities of a heard word to a written one; `*_s` are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.verify.after_drift import AfterDriftOptions
from app.verify.bounds import BoundsOptions
from app.verify.certainty import CertaintyOptions
from app.verify.speech import SpeechOptions
from app.verify.unclaimed import UnclaimedOptions


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    # --- where there is voice (voice.py) -----------------------------------------------------
    voice_floor_pct: float = 10        # frame energy percentile taken as the noise floor
    voice_peak_pct: float = 99         # ... and as the peak (the odd click above it is ignored)
    voice_floor_abs: float = 0.004     # RMS below this is never voice, however quiet the file
    voice_floor_ratio: float = 3.0     # voice stands this far above the noise floor
    voice_peak_ratio: float = 0.05     # ... and above this share of the peak (breath, reverb tails)
    min_voice_s: float = 0.1           # less voice than this (in the answer, or a window) is not listened to
    window_s: float = 28.0             # longest piece given to Whisper at once (its window is 30 s)
    window_slack_s: float = 1.5        # audio up to this much longer than window_s stays one piece
    window_cut_search_s: float = 8.0   # a long answer is cut at the longest silence in this last stretch

    # --- free decoding and alignment (listen.py) -------------------------------------------
    imagined_pad_s: float = 0.06       # voice is looked for this far around a heard word ...
    imagined_voice_s: float = 0.02     # ... a heard word with less is Whisper imagining things over silence
    ok_sim: float = 0.55               # a written word is heard as said when every token is this similar ...
    ok_mean_sim: float = 0.7           # ... or its tokens average this (one odd token in a compound)
    lookalike_sim: float = 0.8         # less similar is a look-alike ("Este" for "Questo"), not an accent
    other_word_sim: float = 0.5        # less similar is another word ("15" for "fifty"), not a mishearing
    unlike_sim: float = 0.35           # a long word heard this unlike is a real difference on its own
    echo_sim: float = 0.6              # a decoded word this similar to one of the sentence's own is its echo

    # --- forced likelihood of the transcript (listen.py, judge.py) -------------------------
    rescue_p: float = 0.3              # misheard but supported as written (unsaid words score near 0)
    anchor_p: float = 0.6              # a short word this likely proves the audio got this far
    anchor_chars: int = 4              # a matched word this long proves it without the likelihood
    anchor_sentence_p: float = 0.225   # a sentence averaging below this anchors nothing (a translation's cognates)
    misspoken_p: float = 0.05          # a word this unlikely, heard as another word, was said differently
    heard_sure: float = 0.4            # ... when free decoding was at least this sure of the other word
    well_heard_p: float = 0.5          # a word this likely was heard (for the unreadable-voice test)
    readable_run: int = 2              # this many well-heard words in a row: the recognizer can read the voice
    suspect_p: float = 0.45            # a sentence heard "right" averaging below this is checked for drift
    suspect_min_words: int = 3         # ... if it has at least this many scored words
    suspect_min_low: int = 2           # ... this many of them below rescue_p (one dip is normal)
    lead_p: float = 0.75               # a lead-in word below this gets its language checked
    lead_words: int = 3                # a lead-in is at most this many words before a comma

    # --- which flags are evidence (judge.py) -----------------------------------------------
    ruled_out_one_in: int = 2          # flags stand when at least one in this many is ruled out (half)
    flag_one_in: int = 3               # a sentence with one in this many words flagged really differs ...
    flag_run: int = 2                  # ... or with this many flagged words in a row ...
    long_word_chars: int = 5           # ... or one unheard or unlike word this long
    misspoken_max_words: int = 2       # more flagged words than this need the language check

    # --- timing (timing.py) ------------------------------------------------------------------
    start_lag_s: float = 0.06          # Whisper's attention alignment starts words early (median -100 ms)
    lag_keep_s: float = 0.03           # ... the lag leaves the word at least this long
    snap_min_s: float = 0.03           # voice shorter than this inside a word is not its onset/offset
    min_word_s: float = 0.05           # a forced-alignment word is at least this long (to find voice in it)
    retime_s: float = 0.5              # a heard time this far from the forced one is a misaligned word's

    # --- where the audio ended (tail.py) -----------------------------------------------------
    segment_share: float = 0.6         # voice needed for a later sentence, of its expected time
    first_segment_share: float = 0.25  # ... for the first one when nothing matched (said some other way)
    foreign_spread: float = 1.5        # unmatched speech may run this much longer (translations run longer)
    word_share: float = 0.5            # voice needed for a word of the current sentence, of its time
    cut_run: int = 2                   # a sentence ends in a cut when this many last words are ruled out
    pay_min_s: float = 0.05            # less voice than this left pays for nothing
    rate_s: float = 0.07               # voiced seconds per letter when too few words are heard to measure it
    rate_min_anchors: int = 3          # heard words needed to measure the speaking rate
    rate_min_s: float = 0.04           # the measured rate is clipped to this ...
    rate_max_s: float = 0.12           # ... and this (a pause or a gabbled stretch is no rate)

    # --- language of what was heard (language.py) --------------------------------------------
    usual_languages: tuple[str, ...] = ("en", "es", "fr", "de", "it", "pt")   # what realtime answers slip into
    foreign_lid: float = 0.5           # target below this over the answer: every sentence is checked
    heard_lid: float = 0.5             # Whisper naming a language first this surely hears it
    ear_top: int = 2                   # only Whisper's top languages count as heard (candidates, cut tails)
    target_sure_lid: float = 0.8       # the target this sure over a region: only clear evidence drifts
    probe_target_lid: float = 0.1      # a probe where Whisper gives the target this much is no drift
    target_absent_lid: float = 0.2     # a whole sentence drifts on the ear only with the target below this
    ear_sure: float = 0.6              # Whisper hearing a whole sentence first in a language this surely
    lead_lid: float = 0.6              # Whisper this sure of the source over a lead-in ...
    lead_evidence: float = -0.5        # ... lowers the drift bar to this (the region also holds target words)
    cut_lid: float = 0.1               # the last words before the audio stops drift only if heard this surely
    source_ear: float = 0.3            # Whisper half-hearing the source under a sentence heard "as written" ...
    translated_evidence: float = 1.0   # ... and the source reading this much more fluent: Whisper translated it
    unreadable_lid: float = 0.2        # in an unreadable voice a drift needs Whisper's ear this sure ...
    fluent: float = -1.0               # ... or a reading this fluent (average token log-probability)
    candidate_lid: float = 0.2         # with a source language, a usual language heard this surely is tried too
    candidate_lid_unsourced: float = 0.5   # without one, any language heard this surely
    max_candidates: int = 7            # languages decoded at most (the batched decode's cost)
    region_frames: int = 300           # a region is encoded padded to 3 s, not 10 s (a third of the work)
    region_min_s: float = 1.0          # a region shorter than this is widened (too little to identify)
    region_pad_s: float = 0.1          # ... and padded by this (word times are approximate)
    smeared_s: float = 0.6             # a neighbour longer than this has the foreign bit glued to it
    context_slack_s: float = 0.05      # heard words this close to the region count as before/after it
    drift_evidence: float = -0.15      # the drift bar: lean to drifted unless the target explains it clearly better
    target_sure_evidence: float = 0.3  # the bar when the target is sure or the language is not the source
    source_slack: float = 0.35         # the source may decode this much worse and still be preferred
    source_bonus: float = 0.1          # evidence added for the source, the known suspect
    text_bonus: float = 0.15           # evidence added when the text detector agrees on the language
    lid_weight: float = 0.3            # weight of Whisper's language-ID difference in the evidence
    slip_margin: float = 1.0           # target heard nothing, source reads words: drift_evidence + this
    source_text: float = 0.3           # heard text reads as the source with at least this share
    drift_text: float = 0.3            # a sentence's drift reading must read as that language this surely
    text_min_letters: int = 4          # text with fewer letters has no language
    text_languages: int = 5            # languages the text detector reports

    # --- the gates around the verdict and how sure a flag is ----------------------------------
    speech: SpeechOptions = field(default_factory=SpeechOptions)          # where a voice speaks (speech.py)
    bounds: BoundsOptions = field(default_factory=BoundsOptions)          # what the audio could hold (bounds.py)
    certainty: CertaintyOptions = field(default_factory=CertaintyOptions)  # red or amber (certainty.py)
    unclaimed: UnclaimedOptions = field(default_factory=UnclaimedOptions)  # speech no sentence claims
    after_drift: AfterDriftOptions = field(default_factory=AfterDriftOptions)  # a drift does not spill over


DEFAULT_OPTIONS = VerifyOptions()
