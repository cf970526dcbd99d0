"""What ``followup-bot demo`` prints, read as a new user reads it: its numbers add up, and its
cards speak a CSM's words, name each email or task once, indent what they wrap, and show the
score and renewal of the Slack card."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli import SAMPLE, run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    work = tmp_path_factory.mktemp("demo")
    done = run_cli("demo", "--out", "payloads", cwd=work)
    assert done.returncode == 0, done.stderr
    return done.stdout, work / "payloads"


def panels(stdout: str) -> list[list[str]]:
    """Each card's box: its lines, title first."""
    out: list[list[str]] = []
    for line in stdout.splitlines():
        if line.startswith("╭"):
            out.append([line])
        elif out and out[-1][-1][:1] in ("╭", "│") and line[:1] in ("│", "╰"):
            out[-1].append(line)
    return out


def inner(panel: list[str]) -> list[str]:
    return [line[2:-1].rstrip() for line in panel[1:] if line.startswith("│")]


def test_the_numbers_add_up(demo: tuple[str, Path]) -> None:
    stdout, _ = demo
    total = int(re.search(r"→ (\d+) accounts need attention:", stdout)[1])
    shown = int(re.search(r"^  (\d+) cards in the digests below", stdout, re.M)[1])
    hidden = re.findall(r"^  (\d+) low-severity cards? hidden by (.*) noise level$", stdout, re.M)
    assert hidden, stdout
    assert shown + sum(int(n) for n, _ in hidden) == total
    assert ("5", "the Standard") in hidden and ("2", "Chloe Whitfield's Important only") in hidden
    # The table counts what the digests below show, lane by lane.
    rows = re.findall(r"^│ ([A-Z][\w ()]+?) +│ +(\d+) │ +(\d+) │ +(\d+) │", stdout, re.M)
    assert sum(int(a) + int(b) + int(c) for _, a, b, c in rows) == shown
    for name, a, b, c in rows:
        name = name.removesuffix(" (fallback CSM)")
        header = re.search(rf"═ {name} \(u-\w+\) — (\d+) cards?, noise level", stdout)
        assert header and int(header[1]) == int(a) + int(b) + int(c), name


def test_cards_use_a_csms_words(demo: tuple[str, Path]) -> None:
    stdout, _ = demo
    for internal in (
        "risk_trend",
        "coverage_debt",
        "conduit",
        "direct_action",
        "sensitivity",
        "(0 high",
        "_",
    ):
        cards = "\n".join("\n".join(p) for p in panels(stdout))
        assert internal not in cards.replace("u-", ""), internal
    assert "Chloe Whitfield (u-chloe) — 3 cards, noise level Important only ═" in stdout


def test_a_card_names_each_email_and_task_once(demo: tuple[str, Path]) -> None:
    stdout, _ = demo
    sample = json.loads(SAMPLE.read_text())
    names = {a["subject"] for a in sample["activities"] if a.get("subject")}
    names |= {t["title"] for t in sample["tasks"]} | {r["title"] for r in sample["requests"]}
    cards = panels(stdout)
    pinecrest = next(p for p in cards if "Pinecrest" in p[0])
    text = " ".join(" ".join(line.split()) for line in inner(pinecrest))
    assert text.count("Q4 rollout & SSO cutover") == 1
    assert "Reply to Hugo Vance on that email today" in text
    for card in cards:
        text = " ".join(" ".join(line.split()) for line in inner(card))
        for name in names:
            assert text.count(f"'{name}'") + text.count(f" {name} ") <= 1, (card[0], name)


def test_wrapped_lines_are_indented_under_their_text(demo: tuple[str, Path]) -> None:
    stdout, _ = demo
    labels = re.compile(r"^(● (Critical|High|Medium|Low) +|💬 +|Next step +|Waiting +| {6,})\S")
    wrapped = 0
    for card in panels(stdout):
        lines = inner(card)
        for line in lines:
            assert labels.match(line), (card[0], line)
        wrapped += sum(1 for line in lines if line.startswith(" " * 6))
    assert wrapped > 20  # the facts lines, and the long reasons and next steps, wrap


def test_terminal_cards_show_the_slack_score_and_renewal(demo: tuple[str, Path]) -> None:
    stdout, payloads = demo
    cards = panels(stdout)
    compared = 0
    for path in sorted(payloads.glob("dm-*.json")):
        blocks = json.loads(path.read_text())["blocks"]
        for block in blocks:
            block_id = block.get("block_id") or ""
            if not block_id.startswith("card:"):
                continue
            text = block["text"]["text"]
            name = re.search(r"\|([^>]+)>\*", text)[1]
            score = re.search(r"score \*(\d+)\*", text)[1]
            facts = next(b for b in blocks if b.get("block_id") == "card_facts:" + block_id[5:])
            renewal = re.search(r"renews (in \d+d|today)", facts["elements"][0]["text"])
            card = next(p for p in cards if f". {name} " in p[0])
            assert re.search(rf"score {score}\b", card[0]), (name, card[0])
            body = " ".join(" ".join(line.split()) for line in inner(card))
            if renewal:
                assert f"renews {renewal[1]}" in body, name
            else:
                assert "renews" not in body, name
            compared += 1
    assert compared >= 15
    quarry = next(p for p in cards if "Quarry Ridge" in p[0])
    assert "score 92" in quarry[0] and "renews in 38d" in " ".join(inner(quarry))
