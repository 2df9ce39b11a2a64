"""The report as a list of blocks (headings, paragraphs, tables, figures, preformatted text), and its
two renderings: Markdown with the figures as PNG files beside it, and one self-contained HTML page
with the same figures inline as base64 PNG. Building the blocks once keeps the two files identical
in content.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: Sequence[str]


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass
class Figure:
    """A PNG (its bytes) with the file name it gets in the Markdown report's figures/ folder."""

    name: str
    png: bytes
    caption: str


@dataclass
class Preformatted:
    text: str


Block = Union[Heading, Paragraph, Bullets, Table, Figure, Preformatted]
FIGURE_DIR = "figures"


def _markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(_markdown_cell(h) for h in block.header) + " |",
                     "|" + "---|" * len(block.header)]
            lines += ["| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        elif isinstance(block, Figure):
            parts.append(f"![{block.caption}]({FIGURE_DIR}/{block.name})\n\n*{block.caption}*")
        else:
            parts.append("```\n" + block.text.rstrip("\n") + "\n```")
    return "\n\n".join(parts) + "\n"


_STYLE = """body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}
th{background:#eee}td:first-child,th:first-child{text-align:left}img{max-width:100%}
figure{margin:1.5em 0}figcaption{font-style:italic;font-size:0.9em}pre{background:#f5f5f5;padding:0.6em;overflow-x:auto;font-size:0.8em}"""


def _inline_markdown(text: str) -> str:
    """The little inline Markdown the sections use (**bold**, `code`), escaped for HTML."""
    out, bold, code = [], False, False
    for i, piece in enumerate(html.escape(text).replace("**", "\0").split("\0")):
        if i:
            bold = not bold
            out.append("<b>" if bold else "</b>")
        for j, chunk in enumerate(piece.split("`")):
            if j:
                code = not code
                out.append("<code>" if code else "</code>")
            out.append(chunk)
    return "".join(out)


def to_html(blocks: Sequence[Block], title: str) -> str:
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body>"]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{_inline_markdown(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_inline_markdown(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline_markdown(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_inline_markdown(h)}</th>" for h in block.header)
            body = "".join("<tr>" + "".join(f"<td>{_inline_markdown(c)}</td>" for c in row) + "</tr>"
                           for row in block.rows)
            parts.append(f"<table><tr>{head}</tr>{body}</table>")
        elif isinstance(block, Figure):
            data = base64.b64encode(block.png).decode("ascii")
            parts.append(f"<figure><img alt=\"{html.escape(block.caption)}\" src=\"data:image/png;base64,{data}\">"
                         f"<figcaption>{_inline_markdown(block.caption)}</figcaption></figure>")
        else:
            parts.append(f"<pre>{html.escape(block.text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(blocks: Sequence[Block], out: Path, title: str) -> None:
    """OUT/REPORT.md, OUT/figures/*.png and OUT/report.html (which needs no other file)."""
    figures = out / FIGURE_DIR
    figures.mkdir(parents=True, exist_ok=True)
    for block in blocks:
        if isinstance(block, Figure):
            (figures / block.name).write_bytes(block.png)
    (out / "REPORT.md").write_text(to_markdown(blocks))
    (out / "report.html").write_text(to_html(blocks, title))
