"""docs/_ext/page_assets.py: the stylesheet bundle, the icon-font subset, the unwrapped spans."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
import page_assets


def test_bundle_inlines_imports_and_rebases_urls(tmp_path):
    (tmp_path / "styles").mkdir()
    (tmp_path / "basic.css").write_text('.b { background: url("img/b.png"); }', encoding="utf-8")
    (tmp_path / "styles" / "theme.css").write_text(
        '@import "../basic.css";\n.t { background: url(../vendor/t.woff2) } .d { background: url(data:x) }\n'
        "/*# sourceMappingURL=theme.css.map */",
        encoding="utf-8",
    )
    css = page_assets.inline_css(tmp_path, "styles/theme.css")
    assert "@import" not in css and "sourceMappingURL" not in css
    assert 'url("img/b.png")' in css  # basic.css sits in the bundle's folder: unchanged
    assert 'url("vendor/t.woff2")' in css  # ../ from styles/ is the bundle's folder
    assert 'url("data:x")' in css
    assert css.index(".b {") < css.index(".t {")  # the imported rules come where the @import was


def test_bundle_refuses_what_it_cannot_inline(tmp_path):
    (tmp_path / "a.css").write_text('@import "b.css";', encoding="utf-8")
    (tmp_path / "b.css").write_text('@import "a.css";', encoding="utf-8")
    with pytest.raises(ValueError, match="cycle"):
        page_assets.inline_css(tmp_path, "a.css")
    (tmp_path / "c.css").write_text('@import url("https://example.org/x.css");', encoding="utf-8")
    with pytest.raises(ValueError, match="cannot inline"):
        page_assets.inline_css(tmp_path, "c.css")
    (tmp_path / "d.css").write_text('@import "print.css" print;', encoding="utf-8")
    with pytest.raises(ValueError, match="cannot inline"):
        page_assets.inline_css(tmp_path, "d.css")
    with pytest.raises(FileNotFoundError):
        page_assets.inline_css(tmp_path, "missing.css")


@pytest.fixture(scope="module")
def theme_fonts() -> Path:
    import pydata_sphinx_theme

    static = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    assert (static / "vendor" / "fontawesome" / "webfonts" / "fa-solid-900.woff2").is_file()
    return static


def _cmap(data_url_css: str) -> set[int]:
    from fontTools.ttLib import TTFont

    encoded = data_url_css.split("base64,", 1)[1].split('"', 1)[0]
    return set(TTFont(io.BytesIO(base64.b64decode(encoded))).getBestCmap())


def test_icon_font_keeps_only_the_glyphs_the_css_names(theme_fonts):
    css = (
        "@font-face{font-display:block;font-family:Font Awesome\\ 7 Free;font-weight:900;"
        "src:url(vendor/fontawesome/webfonts/fa-solid-900.woff2)}"
        '.x:after{content:"\\f064";font:var(--fa-font-solid)}'
        '.y{color:red}.fa-0{--fa:"\\30 "}.fa-house,.fa-home{--fa:"\\f015"}'
    )
    out, kept = page_assets.fold_icon_fonts(css, theme_fonts)
    assert kept == {"vendor/fontawesome/webfonts/fa-solid-900.woff2": 1}
    assert ".fa-house" not in out and ".fa-0" not in out and ".y{color:red}" in out  # the icon table is gone
    assert "fa-solid-900.woff2" not in out  # no request: the font is in the stylesheet
    assert _cmap(out) == {0xF064}
    size = len(out) - len(".x:after{content:\"\\f064\";font:var(--fa-font-solid)}.y{color:red}")
    assert size < 5000, f"the one-glyph font takes {size} bytes"


def test_an_icon_font_face_without_named_glyphs_is_dropped(theme_fonts):
    faces = (
        "@font-face{font-family:Font Awesome\\ 7 Free;font-weight:900;"
        "src:url(vendor/fontawesome/webfonts/fa-solid-900.woff2)}"
        "@font-face{font-family:Font Awesome\\ 7 Brands;src:url(vendor/fontawesome/webfonts/fa-brands-400.woff2)}"
    )
    # f064 (share) is a solid icon, not a brand: the brands face keeps nothing and goes
    out, kept = page_assets.fold_icon_fonts(faces + '.x:after{content:"\\f064"}', theme_fonts)
    assert kept == {"vendor/fontawesome/webfonts/fa-solid-900.woff2": 1, "vendor/fontawesome/webfonts/fa-brands-400.woff2": 0}
    assert out.count("@font-face") == 1 and "Brands" not in out


def test_a_glyph_no_font_has_fails(theme_fonts):
    face = ("@font-face{font-family:Font Awesome\\ 7 Free;font-weight:900;"
            "src:url(vendor/fontawesome/webfonts/fa-solid-900.woff2)}")
    with pytest.raises(ValueError, match="0xe9f5"):
        page_assets.fold_icon_fonts(face + '.x:after{content:"\\e9f5"}', theme_fonts)


def test_plain_token_classes_are_those_drawn_like_the_text():
    plain = page_assets.plain_token_classes("a11y-high-contrast-light", "a11y-high-contrast-dark")
    assert {"n", "p", "w"} <= plain  # names, punctuation, whitespace: the text colour in both styles
    assert not plain & {"k", "o", "s2", "mi", "c1", "nf", "kn"}  # keywords, operators, strings... keep theirs
    assert not page_assets.plain_token_classes("default", "monokai") & {"k", "o"}


def test_unwrap_plain_spans_only_inside_highlighted_code():
    html = (
        '<p><span class="n">prose</span></p>'
        '<div class="highlight"><pre><span class="n">x</span><span class="w"> </span>'
        '<span class="o">=</span><span class="w"> </span><span class="mi">1</span></pre></div>'
    )
    out = page_assets.unwrap_plain_spans(html, frozenset({"n", "w"}))
    assert out == (
        '<p><span class="n">prose</span></p>'
        '<div class="highlight"><pre>x <span class="o">=</span> <span class="mi">1</span></pre></div>'
    )
    assert page_assets.unwrap_plain_spans(html, frozenset()) == html


def test_unwrap_literal_words_in_inline_code_and_signatures_only():
    html = (
        '<code class="docutils literal notranslate"><span class="pre">causal</span> <span class="pre">mask</span></code>'
        '<dt class="sig sig-object py"><span class="sig-name descname"><span class="pre">softmax</span></span></dt>'
        '<span class="pre">elsewhere</span>'
    )
    out = page_assets.unwrap_literal_words(html)
    assert out == (
        '<code class="docutils literal notranslate">causal mask</code>'
        '<dt class="sig sig-object py"><span class="sig-name descname">softmax</span></dt>'
        '<span class="pre">elsewhere</span>'
    )


def test_togglers_are_redrawn_at_three_times_once(tmp_path):
    from PIL import Image

    Image.new("L", (11, 11), 240).save(tmp_path / "minus.png")
    Image.new("L", (11, 11), 240).save(tmp_path / "plus.png")
    def size(name: str) -> tuple[int, int]:
        with Image.open(tmp_path / name) as image:
            return image.size

    css = page_assets.sharpen_togglers(tmp_path)
    assert "width: 11px; height: 11px;" in css
    assert size("minus.png") == size("plus.png") == (33, 33)
    assert page_assets.sharpen_togglers(tmp_path) == css  # a second build into the same folder
    assert size("minus.png") == (33, 33)
    assert page_assets.sharpen_togglers(tmp_path / "nothing-here") == ""


def test_theme_scroll_check_is_taken_out_once(tmp_path):
    """The installed theme's script has the check this expects; it is taken out once; a changed script is left."""
    import pydata_sphinx_theme

    installed = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    script = tmp_path / page_assets.THEME_JS
    script.parent.mkdir()
    original = (installed / page_assets.THEME_JS).read_text(encoding="utf-8")
    script.write_text(original, encoding="utf-8")
    assert page_assets.theme_scroll_check_off(tmp_path)
    changed = script.read_text(encoding="utf-8")
    assert page_assets.THEME_SCROLL_CHECK not in changed and changed.count(page_assets.THEME_SCROLL_CHECK_OFF) == 1
    assert len(changed) - len(original) == len(page_assets.THEME_SCROLL_CHECK_OFF) - len(page_assets.THEME_SCROLL_CHECK)
    assert page_assets.theme_scroll_check_off(tmp_path)  # a second build into the same folder
    assert script.read_text(encoding="utf-8") == changed
    script.write_text(original.replace(page_assets.THEME_SCROLL_CHECK, 'window.addEventListener("load",I)'),
                      encoding="utf-8")
    assert not page_assets.theme_scroll_check_off(tmp_path)  # a theme update: the build warns
    assert not page_assets.theme_scroll_check_off(tmp_path / "missing")


def test_rules_for_classes_no_page_names_are_dropped():
    css = (
        "/* a comment, {with} a brace */ .used{color:red}"
        ".unused{color:blue}"
        ".used,.unused>p{margin:0}"
        "div.used .unused{x:1}"
        "p{y:2}"
        "@media (min-width:960px){.unused{z:3}.used span{z:4}}"
        "@media print{.unused{z:5}}"
        "@font-face{font-family:X;src:url(x.woff2)}"
        "@keyframes spin{from{a:1}to{a:2}}"
        '.used::before{content:"}"}'
        "@import url(other.css);"
    )
    out, dropped = page_assets.drop_unused_rules(css, {"used", "span"})
    assert out == (
        ".used{color:red}"
        ".used{margin:0}"
        "p{y:2}"
        "@media (min-width:960px){.used span{z:4}}"
        "@font-face{font-family:X;src:url(x.woff2)}"
        "@keyframes spin{from{a:1}to{a:2}}"
        '.used::before{content:"}"}'
        "@import url(other.css);"
    )
    assert dropped == 5  # .unused, .unused>p, div.used .unused and one .unused in each @media
    assert page_assets.drop_unused_rules(out, {"used", "span"}) == (out, 0)


def test_a_class_under_not_or_is_or_in_an_attribute_is_not_required():
    css = "p:not(.absent){a:1}:is(.absent,.used) b{a:2}a[href$='.absent']{a:3}.absent:hover{a:4}"
    out, dropped = page_assets.drop_unused_rules(css, {"used"})
    assert out == "p:not(.absent){a:1}:is(.absent,.used) b{a:2}a[href$='.absent']{a:3}"
    assert dropped == 1
    assert page_assets.classes_required(".a.b:not(.c) > .d[title='.e']:where(.f)") == {"a", "b", "d"}


def test_classes_a_script_adds_or_builds_are_kept():
    page = '<p class="used">x</p><script>el.classList.add("shown")</script>'
    script = "e.classList.add(`bs-${this.constructor.NAME}-auto`); c = 'kind-' + kind"
    words, prefixes = page_assets.words_and_built_prefixes([page, script])
    assert {"used", "shown"} <= words and prefixes == ("bs-", "kind-")
    css = ".used{a:1}.shown{a:2}.bs-tooltip-auto{a:3}.kind-cross{a:4}.gone{a:5}"
    out, dropped = page_assets.drop_unused_rules(css, words, prefixes)
    assert out == ".used{a:1}.shown{a:2}.bs-tooltip-auto{a:3}.kind-cross{a:4}" and dropped == 1


def test_unbalanced_css_is_refused():
    with pytest.raises(ValueError, match="unbalanced"):
        page_assets.drop_unused_rules(".a{color:red", {"a"})
