"""The text of an expression, its configuration key, and errors that point into it."""

from __future__ import annotations

import ast

from deepinn._errors import ConfigurationError

__all__ = ["Source"]


class Source:
    """An expression's text and the configuration key it came from, for error messages.

    Args:
        text: The expression as written.
        key: The configuration key holding it (``problem.constraints.pde.residual``).
    """

    def __init__(self, text: str, key: str) -> None:
        self.text = text
        self.key = key

    def error(
        self, message: str, node: ast.AST | None = None, *, column: int | None = None
    ) -> ConfigurationError:
        """A ConfigurationError naming the key, the position and what was wrong.

        Args:
            message: What was wrong and the fix.
            node: The offending part of the parsed expression (its position is shown).
            column: A 0-based column in the text when there is no node.
        """
        line, start, end = 1, column, None
        if node is not None and hasattr(node, "col_offset"):
            line = getattr(node, "lineno", 1)
            start = node.col_offset
            if getattr(node, "end_lineno", line) == line:
                end = getattr(node, "end_col_offset", None)
        return ConfigurationError(self._format(message, line, start, end))

    def _format(self, message: str, line: int, start: int | None, end: int | None) -> str:
        where = f"{self.key}: " if self.key else ""
        if not isinstance(self.text, str):
            return f"{where}{message}"
        lines = self.text.splitlines() or [""]
        if start is None or not 1 <= line <= len(lines) or len(self.text) > 200:
            return f"{where}{message} (in expression {_shorten(self.text)!r})"
        shown = lines[line - 1]
        # ast columns are UTF-8 byte offsets; the text is ASCII when positions are shown.
        width = max(1, (end if end is not None else start + 1) - start)
        place = f"column {start + 1}" if len(lines) == 1 else f"line {line}, column {start + 1}"
        return f"{where}{message} (at {place})\n    {shown}\n    {' ' * start}{'^' * width}"


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
