"""Source locations. Every syntax node, IR node and diagnostic carries one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A range in a spec file; lines and columns are 1-based, `end_col` is exclusive."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def point(cls, path: str, line: int, col: int, width: int = 1) -> Span:
        return cls(path, line, col, line, col + max(width, 1))

    def narrow(self, offset: int, width: int) -> Span:
        """A sub-range of a single-line span, `offset` characters from its start."""
        return Span.point(self.path, self.line, self.col + offset, width)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"
