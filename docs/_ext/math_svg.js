// Typeset TeX as SVG at build time, with MathML for screen readers: docs/_ext/math_svg.py runs this.
// stdin: [{"tex": "...", "display": true}, ...] (JSON). stdout: {"items": [{"svg", "mml", "error"}, ...],
// "glyphs": {id: "<path .../>"}, "css": "..."}. The SVGs share one glyph cache ("global"): each refers to
// its glyphs with <use href="#id">, and the page carries the paths it uses once (math_svg.py).
// argv[2]: the folder of MathJax 3's components (sphinx-mathjax-offline's static/mathjax, node-main.js).
"use strict";
const path = require("path");
const mathjaxDir = path.resolve(process.argv[2]);

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const items = JSON.parse(input);
  const MathJax = await require(path.join(mathjaxDir, "node-main.js")).init({
    loader: { paths: { mathjax: mathjaxDir }, load: ["input/tex-full", "output/svg"] },
    // an unknown macro or a TeX error is an error (no red text on the page): the build reports it
    tex: { packages: { "[-]": ["noundefined", "noerrors"] } },
    svg: { fontCache: "global" },
    startup: { typeset: false },
  });
  const adaptor = MathJax.startup.adaptor;
  const out = [];
  for (const { tex, display } of items) {
    let node;
    try {
      node = MathJax.tex2svg(tex, { display });
    } catch (err) {
      out.push({ svg: "", mml: "", error: String(err.message || err) });
      continue;
    }
    const svg = adaptor.innerHTML(node);
    const error = /data-mjx-error="([^"]*)"/.exec(svg);
    out.push({ svg, mml: MathJax.tex2mml(tex, { display }), error: error ? error[1] : null });
  }
  const glyphs = {};
  const cache = MathJax.startup.output.fontCache.getCache();  // <defs> of every glyph used
  for (const child of adaptor.childNodes(cache)) {
    glyphs[adaptor.getAttribute(child, "id")] = adaptor.outerHTML(child);
  }
  const css = adaptor.textContent(MathJax.svgStylesheet());
  process.stdout.write(JSON.stringify({ items: out, glyphs, css }));
});
