"""Measurements taken inside the page: rendered text sizes, tap target boxes, whether a box is on screen."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page

# Every visible text node with the size it is drawn at: an SVG label's font size is scaled by the
# chart's transform, so a "16px" label on a shrunken chart is measured as what the eye sees.
_TEXT_SIZES = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    if (!text) continue;
    const el = node.parentElement;
    if (!el || el.closest("script, style, title, desc, template, .visually-hidden")) continue;
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.bottom + window.scrollY <= 0) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM()) {
      const m = el.getScreenCTM();
      size *= Math.hypot(m.a, m.b);
    }
    found.push({ text: text.slice(0, 40), size: Math.round(size * 10) / 10, tag: el.tagName.toLowerCase() });
  }
  return found;
}"""

# Every visible control with its box. A checkbox or radio counts with its label (tapping the label
# ticks it); a link inside a sentence is exempt, as WCAG 2.5.5 allows.
_TAP_TARGETS = """() => {
  const found = [];
  for (const el of document.querySelectorAll("a[href], button, input, select, textarea, summary")) {
    if (el.type === "hidden") continue;
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    let target = el;
    if (el.matches("input[type=checkbox], input[type=radio]")) target = el.closest("label") || el;
    if (el.tagName === "A" && getComputedStyle(el).display === "inline"
        && el.parentElement.textContent.trim() !== el.textContent.trim()) continue;
    const box = target.getBoundingClientRect();
    if (box.bottom + window.scrollY <= 0 || box.width === 0) continue;  // the skip link waits off screen
    found.push({ what: (el.tagName + " " + (el.textContent || el.name || el.id).trim()).slice(0, 50),
                 width: Math.round(box.width), height: Math.round(box.height) });
  }
  return found;
}"""


def text_sizes(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(_TEXT_SIZES))


def tap_targets(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(_TAP_TARGETS))


def inside_viewport(page: Page, locator: Locator) -> bool:
    """The element's whole box lies inside the viewport as the page first shows it (no scrolling)."""
    box = locator.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5 \
        and box["y"] + box["height"] <= size["height"] + 0.5


# Keeps every stream the page gets from getUserMedia, so a test can tell whether the camera and
# microphone were really released (every track "ended"), not just hidden from view.
TRACK_MEDIA = """(() => {
  window.__mediaStreams = [];
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    window.__mediaStreams.push(stream);
    return stream;
  };
})();"""


def live_tracks(page: Page) -> int:
    """How many camera or microphone tracks the page still holds open."""
    return int(page.evaluate("() => (window.__mediaStreams || []).flatMap((s) => s.getTracks())"
                             ".filter((t) => t.readyState === 'live').length"))
