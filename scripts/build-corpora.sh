#!/usr/bin/env bash
# Builds the English and Korean text corpora of the language setting (docs/PROTOCOL.md, "Settings") from the
# LibreOffice help pages that Debian ships. We use these because they are freely licensed (MPL-2.0), are
# available offline through apt, and the Korean help is a translation of the English one, so the two
# languages cover the same subject matter and differ mainly in language.
#
# Output (deterministic: same package versions give byte-identical files):
#   data/corpora/{english,korean}.{train,val}.txt   one paragraph per line, no markup
#   data/corpora/NOTICE.md                          provenance, licence, how to rebuild
#
# Usage: bash scripts/build-corpora.sh [output-dir]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${1:-$repo_root/data/corpora}"
help_root=/usr/share/libreoffice/help
packages=(libreoffice-help-en-us libreoffice-help-ko)

if [[ ! -d "$help_root/en-US/text" || ! -d "$help_root/ko/text" ]]; then
  echo "LibreOffice help pages missing; installing ${packages[*]}" >&2
  if [[ "$(id -u)" -eq 0 ]]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get install -y "${packages[@]}"
fi

versions=()
for p in "${packages[@]}"; do
  versions+=("$p=$(dpkg-query -W -f='${Version}' "$p")")
done

mkdir -p "$out_dir"
# Byte budget per language (train + validation). The Korean help yields about this much Hangul prose; English
# is capped to the same size so neither language dominates by sheer volume of distinct text.
budget_bytes="${CORPUS_BUDGET_BYTES:-1600000}"

/usr/bin/python3 - "$help_root" "$out_dir" "$budget_bytes" "${versions[@]}" <<'PY'
import hashlib
import os
import re
import sys
from html.parser import HTMLParser

help_root, out_dir, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
versions = sys.argv[4:]

# Elements and classes whose text is not prose: page chrome, navigation, code listings, cross-reference lists.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
SKIP_TAGS = {"aside", "button", "code", "footer", "head", "header", "label", "nav", "noscript", "pre", "script",
             "style", "title"}
SKIP_CLASSES = {"bascode", "code", "debug", "embedded", "howtogetheader", "pycode", "related", "relatedtopics"}
BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}


class ParagraphParser(HTMLParser):
    """Collects the text of each paragraph or heading as one string."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.skip_depth = 0
        self.buf = None
        self.paragraphs = []

    def flush(self):
        if self.buf is not None:
            # A few translated pages escape quotes twice, leaving a literal "&quot;" after one unescape.
            text = re.sub(r"\s+", " ", "".join(self.buf).replace("&quot;", '"')).strip()
            if text:
                self.paragraphs.append(text)
        self.buf = None

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if tag == "br" and self.buf is not None:
                self.buf.append(" ")
            return
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        # The help pages hold per-platform/per-application variants as hidden spans; the variant without a
        # class is the default one a reader sees, the others would duplicate words ("CommandCtrl").
        skip = tag in SKIP_TAGS or bool(classes & SKIP_CLASSES) or ("hidden" in attrs and bool(classes))
        block = tag in BLOCKS and self.skip_depth == 0 and not skip
        if block:
            self.flush()
            self.buf = []
        self.stack.append((tag, skip, block))
        if skip:
            self.skip_depth += 1

    def handle_endtag(self, tag):
        # The pages are not always well nested; close everything up to the matching open tag.
        if tag in VOID or all(t != tag for t, _, _ in self.stack):
            return
        while self.stack:
            t, skip, block = self.stack.pop()
            if skip:
                self.skip_depth -= 1
            if block:
                self.flush()
            if t == tag:
                break

    def handle_data(self, data):
        if self.buf is not None and self.skip_depth == 0:
            self.buf.append(data)


def paragraphs(lang_dir):
    files = []
    for dirpath, _, filenames in os.walk(lang_dir):
        files.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(".html"))
    for path in sorted(files):
        parser = ParagraphParser()
        with open(path, encoding="utf-8") as fh:
            parser.feed(fh.read())
        parser.close()
        parser.flush()
        yield from parser.paragraphs


def is_hangul_syllable(c):
    return "\uac00" <= c <= "\ud7a3"


def is_korean(line):
    letters = [c for c in line if c.isalpha()]
    hangul = sum(1 for c in letters if is_hangul_syllable(c))
    return hangul >= 5 and hangul * 2 >= len(letters)


def is_english(line):
    letters = [c for c in line if c.isalpha()]
    ascii_letters = sum(1 for c in letters if c.isascii())
    # Short labels ("Shift + F6", "Icon") carry little language; keep sentences and phrases of a few words.
    return len(letters) >= 12 and ascii_letters >= 0.95 * len(letters) and len(line.split()) >= 4


def digest(salt, line):
    return hashlib.sha256((salt + "\n" + line).encode("utf-8")).digest()


def build(lang_dir, keep):
    seen = set()
    lines = []
    for text in paragraphs(lang_dir):
        if text not in seen and keep(text):
            seen.add(text)
            lines.append(text)
    # Over budget: keep a hash-ordered subset, so the choice does not favour the modules that sort first.
    total = sum(len(l.encode("utf-8")) + 1 for l in lines)
    if total > budget:
        chosen, used = set(), 0
        for line in sorted(lines, key=lambda l: digest("undo-corpus-select-v1", l)):
            size = len(line.encode("utf-8")) + 1
            if used + size > budget:
                continue
            chosen.add(line)
            used += size
        lines = [l for l in lines if l in chosen]
    # Split by a salted hash of the line itself, so a line's side never depends on what else is in the corpus.
    train, val = [], []
    for line in lines:
        bucket = int.from_bytes(digest("undo-corpus-split-v1", line)[:8], "big") % 100
        (val if bucket < 5 else train).append(line)
    return train, val


def write(name, lines):
    path = os.path.join(out_dir, name)
    data = "".join(l + "\n" for l in lines).encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return name, len(lines), len(data), hashlib.sha256(data).hexdigest()


stats = []
for lang, sub, keep in (("english", "en-US", is_english), ("korean", "ko", is_korean)):
    train, val = build(os.path.join(help_root, sub, "text"), keep)
    stats.append(write(lang + ".train.txt", train))
    stats.append(write(lang + ".val.txt", val))

rows = "\n".join(f"| `{n}` | {c} | {b} | `{h}` |" for n, c, b, h in stats)
pkgs = "\n".join(f"- `{v.split('=', 1)[0]}` version `{v.split('=', 1)[1]}`" for v in versions)
notice = f"""# Corpora: provenance and licence

These files are the English (retain) and Korean (forget) text of the language setting. They were extracted
from the LibreOffice help pages as packaged by Debian:

{pkgs}

(HTML under `/usr/share/libreoffice/help/en-US/text` and `/usr/share/libreoffice/help/ko/text`.)

## What was done to the text
- Text of each paragraph and heading, with markup, page chrome, code listings and link lists removed; where a
  page shows platform variants (macOS / other), only the default variant was kept. Whitespace collapsed; a
  literal `&quot;` (double-escaped in a few translated pages) became `"`.
- Korean: paragraphs in which at least half of the letters are Hangul syllables (and at least 5 of them).
  English: paragraphs of at least 4 words and 12 letters, at least 95% of the letters ASCII.
- Exact duplicates removed. If a language exceeded {budget} bytes, a subset was chosen by a salted SHA-256
  of the line.
- Train/validation split: a line goes to validation when SHA-256("undo-corpus-split-v1\\n" + line) mod 100
  is below 5 (about 5%), so the split is fixed and does not depend on the rest of the corpus.

| file | lines | bytes | sha256 |
|---|---|---|---|
{rows}

## Licence
The text is LibreOffice help content, Copyright 2000, 2010 Oracle and/or its affiliates and Copyright (c) 2000,
2010 LibreOffice contributors and/or their affiliates, licensed under the Mozilla Public License 2.0 (the Debian
copyright file notes that some files incorporate material licensed to the Apache Software Foundation under the
Apache License 2.0). The MPL-2.0 licence notice:

> This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a copy of the MPL was
> not distributed with this file, You can obtain one at https://mozilla.org/MPL/2.0/.

On Debian systems the full licence texts are in `/usr/share/common-licenses/MPL-2.0` and
`/usr/share/common-licenses/Apache-2.0`; the package copyright file is
`/usr/share/doc/libreoffice-help-ko/copyright`. The source of the help pages is available at
https://git.libreoffice.org/help.

## Rebuild
```
bash scripts/build-corpora.sh
```
The script installs the two packages with apt-get if the help pages are missing. With the package versions
above, it reproduces these files byte for byte (compare the sha256 column).
"""
with open(os.path.join(out_dir, "NOTICE.md"), "w", encoding="utf-8") as fh:
    fh.write(notice)
for n, c, b, _ in stats:
    print(f"{n}: {c} lines, {b} bytes")
PY
