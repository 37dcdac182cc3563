"""End-to-end test of notebook 01 in JupyterLab, driven by a headless Chromium.

The test starts JupyterLab on localhost with a temporary copy of the notebook
and opens it in Chromium. It runs every cell from the Run menu and drags a
slider of the interactive figure. It checks that the figure is redrawn and
that no output shows an error or a warning.

It needs Debian's Chromium at /usr/bin/chromium and Playwright's Python
package (Playwright's own browser downloads are not used). Where either is
missing the test is skipped, except under CI, where it fails. The browser
loads nothing from any host but the local server.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from lab_server import HOST, LabServer, running_lab

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # Playwright is optional on a learner's machine, so the test is skipped
    sync_playwright = None

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "01_chain_rule_and_vanishing_gradients.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Resolve no host name but the server's address, whatever a page requests.
    f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {HOST}",
]
KERNEL_ENV = {
    "RESIDUAL_SCALE": "cpu",
    "RESIDUAL_DEVICE": "cpu",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}

# Limits for the conditions the test waits on. A run on an idle 2-core machine needs a fraction of each.
PAGE_LOAD_TIMEOUT_MS = 60_000
RUN_ALL_TIMEOUT_MS = 120_000
REDRAW_TIMEOUT_MS = 30_000

STDERR_OUTPUT = ".jp-Notebook .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
WIDGET_ERROR_TEXT = ("Error displaying widget", "Error rendering")

# True when every code cell shows an execution count, or when something stops the run:
# an error or warning output, or a dialog such as the kernel chooser.
RUN_FINISHED_OR_STOPPED = """([codeCells, stderrSelector]) => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
    const numbered = prompts.filter((prompt) => /^\\[\\d+\\]:$/.test(prompt.textContent.trim()));
    return numbered.length === codeCells
        || document.querySelector(stderrSelector) !== null
        || document.querySelector('.jp-Dialog') !== null;
}"""

FIGURE_REDRAWN = """([interactive, before]) => {
    const image = interactive.querySelector('.widget-output img');
    return image !== null && image.src !== before;
}"""


def missing_browser() -> str | None:
    """Return why the browser test cannot run here, or None when it can."""
    if sync_playwright is None:
        return "Playwright's Python package is not installed; run pip install playwright"
    if not CHROMIUM.is_file():
        return f"Chromium is not installed at {CHROMIUM}; on Debian or Ubuntu run apt-get install chromium"
    return None


def serve_copy(notebook: Path, tmp_path: Path) -> Path:
    """Copy ``notebook`` into a temporary tree laid out like the repository, and return the tree's root."""
    root = tmp_path / "repository"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(notebook, root / "notebooks" / notebook.name)
    return root


def code_cell_count(notebook: Path) -> int:
    return sum(cell.cell_type == "code" for cell in nbformat.read(notebook, as_version=4).cells)


def wait_for_idle_kernel(page, timeout_ms: int) -> None:
    kernel_status = page.locator(".jp-StatusBar-TextItem[title^='Change kernel']")
    expect(kernel_status).to_have_text(re.compile(r"\| Idle$"), timeout=timeout_ms)


def error_outputs(page) -> list[str]:
    """Return the text of every stderr, error or widget-error output in the notebook."""
    texts = page.locator(STDERR_OUTPUT).all_text_contents()
    for message in WIDGET_ERROR_TEXT:
        texts += page.locator(".jp-Notebook .jp-OutputArea-output").filter(has_text=message).all_text_contents()
    return texts


def run_all_cells(page, code_cells: int) -> None:
    """Run every cell from the Run menu and wait until each code cell has run or the run stops."""
    # The status bar names the kernel and reads Idle only once the notebook's session has a kernel.
    # A Run All before that opens the kernel chooser or is dropped.
    wait_for_idle_kernel(page, PAGE_LOAD_TIMEOUT_MS)
    # Click into the notebook as a user does. The prompt area contains no link to follow by mistake.
    page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    try:
        page.wait_for_function(RUN_FINISHED_OR_STOPPED, arg=[code_cells, STDERR_OUTPUT], timeout=RUN_ALL_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt").all_text_contents()
        pytest.fail(f"the {code_cells} code cells did not all run within {RUN_ALL_TIMEOUT_MS // 1000} s: {prompts}")
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    wait_for_idle_kernel(page, RUN_ALL_TIMEOUT_MS)


def drag_to_far_end(slider) -> None:
    """Drag the slider's handle with the mouse to the end of its track farther from it."""
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-target").first
    handle.scroll_into_view_if_needed()
    handle_box = handle.bounding_box()
    track_box = track.bounding_box()
    handle_x = handle_box["x"] + handle_box["width"] / 2 - track_box["x"]
    fraction = 0.95 if handle_x < track_box["width"] / 2 else 0.05
    handle.drag_to(track, target_position={"x": fraction * track_box["width"], "y": track_box["height"] / 2})


def check_interactive_figure(page) -> None:
    """Drag the first slider of the first interactive figure and wait until the figure changes."""
    interactive = page.locator(".widget-interact", has=page.locator(".widget-output img")).first
    slider = interactive.locator(".widget-slider").first
    assert slider.count() == 1, "the notebook shows no interactive figure with a slider"
    readout = slider.locator(".widget-readout")
    value_before = readout.text_content()
    image_before = interactive.locator(".widget-output img").first.get_attribute("src")

    drag_to_far_end(slider)
    try:
        page.wait_for_function(FIGURE_REDRAWN, arg=[interactive.element_handle(), image_before], timeout=REDRAW_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pytest.fail(
            f"the figure did not change within {REDRAW_TIMEOUT_MS // 1000} s "
            f"after the slider moved from {value_before} to {readout.text_content()}"
        )
    wait_for_idle_kernel(page, REDRAW_TIMEOUT_MS)

    assert readout.text_content() != value_before, f"the slider still reads {value_before}"
    image_after = interactive.locator(".widget-output img").first.get_attribute("src")
    assert image_after.startswith("data:image/png;base64,"), f"the redrawn figure is not a PNG: {image_after[:60]}"


def run_notebook_in_lab(notebook: Path, tmp_path: Path) -> None:
    """Open ``notebook`` in JupyterLab in Chromium, run it, move a slider and check the outputs."""
    root = serve_copy(notebook, tmp_path)
    kernel_env = {**KERNEL_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    page_errors: list[str] = []
    page = None

    with running_lab(root, tmp_path / "jupyter", kernel_env) as server, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            context.route("**/*", lambda route: serve_only_local(route, server))
            page = context.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(server.url(f"lab/tree/notebooks/{notebook.name}"), timeout=PAGE_LOAD_TIMEOUT_MS)

            run_all_cells(page, code_cell_count(notebook))
            assert error_outputs(page) == [], f"outputs with errors or warnings:\n{error_outputs(page)}"

            check_interactive_figure(page)
            assert error_outputs(page) == [], f"the redraw printed errors or warnings:\n{error_outputs(page)}"
            assert page_errors == [], f"JupyterLab raised errors in the page: {page_errors}"
        except (Exception, pytest.fail.Exception):
            if page is not None:
                page.screenshot(path=tmp_path / "failure.png")
                print(f"screenshot of the page at the failure: {tmp_path / 'failure.png'}")
            print(f"JupyterLab's log: {server.log_path}")
            raise
        finally:
            context.close()


def serve_only_local(route, server: LabServer) -> None:
    """Let requests to the local server through and abort every other request, such as badge images."""
    if route.request.url.startswith(server.base_url + "/"):
        route.continue_()
    else:
        route.abort()


def test_notebook_01_slider_redraws_figure(tmp_path):
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason}; CI must install it to run the browser test")
        pytest.skip(reason)
    assert NOTEBOOK.is_file(), f"{NOTEBOOK} is missing"
    run_notebook_in_lab(NOTEBOOK, tmp_path)
