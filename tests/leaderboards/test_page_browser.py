"""leaderboard.html in a real browser: Playwright driving the system Chromium (Debian's `chromium`,
installed by .ci/run). Skipped, saying why, where no browser is found."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from leaderboards.cli import build_leaderboard

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"
CATEGORIES = ("Age", "Religion", "Race_x_SES")


def _chromium() -> str | None:
    candidates = [os.environ.get("FAIRREASON_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]
    return next((found for name in candidates if name and (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "no Chromium found (apt-get install -y chromium, or set FAIRREASON_CHROMIUM): "
            "browser tests skipped"
        )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page_file(scores_dir, metrics, tmp_path) -> Path:
    runs = [
        ("base", None, None, 0.60, 0.20),
        ("sft_r0.2", "sft", 0.2, 0.57, 0.12),
        ("grpo_r0.2", "grpo", 0.2, 0.59, 0.08),
        ("mr_grpo_r0.2", "mr_grpo", 0.2, 0.55, 0.05),
        (HOSTILE, "sft", 1.0, 0.30, 0.02),
    ]
    for index, (name, paradigm, ratio, reasoning, bias) in enumerate(runs):
        per_category = {}
        for offset, category in enumerate(CATEGORIES):
            value = bias * (1 + offset / 2) * (-1 if offset == 1 else 1)
            per_category.update(
                {
                    f"bias_score_ambig_{category}": value,
                    f"bias_score_disambig_{category}": value / 3,
                    f"bias_score_ambig_ci_lo_{category}": value - 0.05,
                    f"bias_score_ambig_ci_hi_{category}": value + 0.05,
                    f"n_items_{category}": 100.0 + index,
                }
            )
        scores_dir(
            name,
            {
                "fairreason_bbq": metrics.bbq(bias, ci=0.03, **per_category),
                "fairreason_math500": metrics.math(reasoning),
            },
            paradigm=paradigm,
            ratio=ratio,
        )
    scores_dir(
        "demo_model", {"fairreason_bbq_heldout": metrics.bbq(0.1), "fairreason_demo_arith": metrics.math(0.9)}
    )
    build_leaderboard([tmp_path / "results"], baseline="base", output=tmp_path / "board")
    return tmp_path / "board" / "leaderboard.html"


def _open(browser, page_file: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on(
        "request",
        lambda request: (
            problems.append(f"request: {request.url}")
            if not request.url.startswith(("file:", "data:"))
            else None
        ),
    )
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def _models(page) -> list[str]:
    return page.eval_on_selector_all(
        "#board tbody tr:not([hidden]) td:first-child", "cells => cells.map(c => c.textContent)"
    )


def test_page_loads_offline_without_errors_and_shows_every_part(browser, page_file, tmp_path):
    page, problems = _open(browser, page_file)
    assert problems == []
    assert sorted(_models(page)) == sorted(["base", "sft_r0.2", "grpo_r0.2", "mr_grpo_r0.2", HOSTILE])
    assert page.locator("#apart tbody tr").count() == 1  # measured on other tasks: set apart
    assert page.locator("#board .bar .ci").count() == 5  # every interval drawn as a bar
    assert page.locator(".plot img").evaluate("img => img.complete && img.naturalWidth > 300")
    assert page.locator("#heat-ambig tbody tr").count() == 6
    assert page.locator("#heat-ambig thead th").all_text_contents() == [
        "model",
        "Age",
        "Race x SES",
        "Religion",
    ]
    assert "n=101" in page.locator("#heat-ambig tbody tr").nth(1).text_content()
    screenshot = tmp_path / "leaderboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 20_000
    if os.environ.get("FAIRREASON_KEEP_SCREENSHOT"):
        shutil.copy(screenshot, os.environ["FAIRREASON_KEEP_SCREENSHOT"])
    page.close()


def test_sorting_and_filtering_change_the_rows(browser, page_file):
    page, problems = _open(browser, page_file)
    header = page.locator("#board thead th", has_text="reasoning").first
    header.click()
    ascending = _models(page)
    assert ascending[0] == HOSTILE and ascending[-1] == "base"  # reasoning 0.30 first, 0.60 last
    header.click()
    assert _models(page) == ascending[::-1]
    page.locator("#paradigms input[data-paradigm='sft']").uncheck()
    assert sorted(_models(page)) == sorted(["base", "grpo_r0.2", "mr_grpo_r0.2"])
    assert page.locator("#heat-ambig tbody tr:not([hidden])").count() == 4  # the heatmap follows the filter
    page.locator("#model-filter").fill("GRPO")
    assert sorted(_models(page)) == ["grpo_r0.2", "mr_grpo_r0.2"]
    assert page.locator("#shown").text_content() == "2"
    assert problems == []
    page.close()


def test_a_hostile_model_name_stays_inert_text(browser, page_file):
    page, problems = _open(browser, page_file)
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("script").count() == 2  # the data element and the page's own script
    assert HOSTILE in _models(page)
    assert HOSTILE in page.locator("#heat-ambig tbody").text_content()
    assert problems == []  # no alert dialog, no error, no request
    page.close()
