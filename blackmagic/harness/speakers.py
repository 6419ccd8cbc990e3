"""Who speaks in a test file: the speaker read from its name, for per-speaker reports and per-speaker statistics."""
from __future__ import annotations

import re
from pathlib import Path

SPEECH_COMMANDS = r"^(?P<speaker>.+?)_nohash_"  # Speech Commands: SPEAKER_nohash_N.wav


class SpeakerPattern:
    """A regular expression searched in each file's name without its suffix; the speaker is its group ``speaker``,
    else its first group, else the whole match. ``stem``: each file's whole name is its speaker. A file that does
    not match has none. Default: Speech Commands' ``SPEAKER_nohash_N`` (the synthesised keyword sets name files
    ``ENGINE-VOICE_nohash_N``)."""

    def __init__(self, pattern: str = SPEECH_COMMANDS):
        self.source = pattern
        self.pattern = None if pattern == "stem" else re.compile(pattern)

    def speaker(self, stem: str) -> str | None:
        if self.pattern is None:
            return stem
        m = self.pattern.search(stem)
        if m is None:
            return None
        groups = m.groupdict()
        return groups.get("speaker") or (m.group(1) if m.groups() else m.group(0))

    def speakers(self, files: list[Path]) -> list[str | None] | None:
        """The speaker of each file, or ``None`` if no file name carries one."""
        found = [self.speaker(Path(f).stem) for f in files]
        return found if any(s is not None for s in found) else None
