/*
 * Korean search, query side (see korean_search.py). Inserted into language_data.js after
 * KO_SEARCH_DATA, which the build derives from kiwipiepy's analysis of this site:
 *   units       every unit in the index (morphemes and word keys)
 *   suffixes    particle/ending chains seen after a key, as written, shortest first
 *   exceptions  words whose key the suffix rule cannot recover (가려진 -> 가리, 소프트맥스만 -> 소프트맥스)
 *   aliases     other books' words for a concept, as keys -> the book's term (레이어 정규화 -> 층 정규화)
 *   docs, weights  ranking bonus per unit: [docIndex, bonus, docIndex, bonus, ...]
 *
 * On top of Sphinx's searchtools.js (loaded before this file on the search page), this file
 *   - searches a query holding an alias as the book's term (Search._parseQuery),
 *   - lists each page once, with its best-scored entry (Search._performSearch): Sphinx lists a page
 *     once per matching title, glossary term and text hit,
 *   - shows the whole list at once, then fills in the pages' summaries, best first, each page fetched
 *     and parsed once (Search.query): Sphinx adds one entry per 5 ms timer, with the summaries'
 *     requests and parsing (100 ms a page on a slow phone) in between, again for every query,
 *   - starts the search of search.html?q=... once the page is parsed, not after the deferred theme
 *     scripts (fontawesome.js alone is 1.5 MB to run on a phone),
 *   - searches a query submitted on the search page in place (the URL follows, the back button too),
 *     instead of loading the search page again.
 */
var KoSearch = (() => {
  const data = KO_SEARCH_DATA;
  const units = new Set(data.units || []);
  const suffixes = data.suffixes || [];
  const exceptions = new Map(Object.entries(data.exceptions || {}));
  const aliases = new Map(Object.entries(data.aliases || {}));
  const aliasLength = Math.max(0, ...[...aliases.keys()].map((alias) => alias.split(" ").length));
  const weights = data.weights || {};
  const docIndex = new Map((data.docs || []).map((doc, i) => [doc, i]));

  /* Same rule as query_key() in korean_search.py. */
  const stem = (word) => {
    if (exceptions.has(word)) return exceptions.get(word);
    if (units.has(word)) return word;
    for (const suffix of suffixes) {
      if (suffix.length < word.length && word.endsWith(suffix)) {
        const rest = word.slice(0, -suffix.length);
        if (units.has(rest)) return exceptions.has(rest) ? exceptions.get(rest) : rest;
      }
    }
    return word;
  };

  /* "레이어 정규화를 더하면" -> "층 정규화 더하면": the longest run of words whose keys are an alias. */
  const rewrite = (query) => {
    if (!aliasLength) return query;
    const words = splitQuery(query);
    const keys = words.map((word) => stem(word.toLowerCase()));
    const out = [];
    let changed = false;
    for (let i = 0; i < words.length; ) {
      let n = Math.min(aliasLength, words.length - i);
      for (; n > 0; n--) {
        const term = aliases.get(keys.slice(i, i + n).join(" "));
        if (term !== undefined) {
          out.push(term);
          changed = true;
          break;
        }
      }
      if (n > 0) i += n;
      else out.push(words[i++]);
    }
    return changed ? out.join(" ") : query;
  };

  /* Sphinx's results run from worst to best: keep the best entry of each page, in that order. */
  const onePerPage = (results) => {
    const seen = new Set();
    const kept = [];
    for (let i = results.length - 1; i >= 0; i--) {
      if (seen.has(results[i][0])) continue;
      seen.add(results[i][0]);
      kept.push(results[i]);
    }
    return kept.reverse();
  };

  const bonus = (docName, terms) => {
    const i = docIndex.get(docName);
    let total = 0;
    for (const term of terms) {
      const row = weights[term];
      if (!row) continue;
      for (let j = 0; j < row.length; j += 2) {
        if (row[j] === i) {
          total += row[j + 1];
          break;
        }
      }
    }
    return total;
  };

  /* The summaries under the entries (what _displayItem and Search.makeSearchSummary do), for the
   * entries shown: best first, each page fetched and parsed once (parsing a chapter takes 100 ms and
   * more on a slow phone), the browser free between two pages, and given up when a newer search starts. */
  const texts = new Map(); // url + anchor -> the text of the page (or of its section)
  let generation = 0;
  const summaryOf = (text, keywords) => {
    if (!text) return null;
    const lower = text.toLowerCase();
    const at = [...keywords].map((k) => lower.indexOf(k.toLowerCase())).filter((i) => i > -1);
    const from = at.length ? Math.max(at[at.length - 1] - 120, 0) : 0;
    const summary = document.createElement("p");
    summary.classList.add("context");
    summary.textContent =
      (from === 0 ? "" : "...") + text.substr(from, 240).trim() + (from + 240 < text.length ? "..." : "");
    return summary;
  };
  const summarize = async (shown, searchTerms, highlightTerms) => {
    const run = ++generation;
    const options = DOCUMENTATION_OPTIONS;
    const root = document.documentElement.dataset.content_root;
    const highlight = new Set([...highlightTerms, ...searchTerms]); // as typed, and the stems
    for (const [item, [docName, , anchor, descr]] of shown) {
      if (run !== generation) return;
      if (descr) continue;
      let url = root + docName + options.FILE_SUFFIX;
      if (options.BUILDER === "dirhtml") url = root + (docName + "/").replace(/(^|\/)index\/$/, "$1");
      const key = url + anchor;
      try {
        if (!texts.has(key)) {
          const html = await (await fetch(url)).text();
          if (run !== generation) return;
          texts.set(key, Search.htmlToText(html, anchor));
          await new Promise((resolve) => setTimeout(resolve, 0));
          if (run !== generation) return;
        }
        const summary = summaryOf(texts.get(key), searchTerms);
        if (summary) item.appendChild(summary);
        if (typeof SPHINX_HIGHLIGHT_ENABLED !== "undefined" && SPHINX_HIGHLIGHT_ENABLED)
          highlight.forEach((term) => _highlightText(item, term, "highlighted"));
      } catch (error) {
        console.warn("search summary of", docName, error);
      }
    }
  };

  /* Wrap searchtools.js's Search (once it exists). */
  const patch = () => {
    if (typeof Search === "undefined" || Search.koPatched) return;
    Search.koPatched = true;
    const parseQuery = Search._parseQuery;
    Search._parseQuery = (query) => parseQuery(rewrite(query));
    const performSearch = Search._performSearch;
    Search._performSearch = (...args) => onePerPage(performSearch(...args));
    Search._performSearch.sphinx = performSearch; // every entry, as Sphinx lists them (for tests)
    if (typeof _displayItem === "function" && typeof _finishSearch === "function") {
      Search.query = (query) => {
        const [searchQuery, searchTerms, excludedTerms, highlightTerms, objectTerms] =
          Search._parseQuery(query);
        const results = Search._performSearch(
          searchQuery, searchTerms, excludedTerms, highlightTerms, objectTerms,
        );
        // the list first (without the summaries' requests, ~10 ms each on a slow phone) ...
        const options = DOCUMENTATION_OPTIONS;
        const summaries = options.SHOW_SEARCH_SUMMARY;
        const shown = [];
        options.SHOW_SEARCH_SUMMARY = false;
        try {
          for (let i = results.length - 1; i >= 0; i--) {
            _displayItem(results[i], searchTerms, highlightTerms);
            shown.push([Search.output.lastChild, results[i]]);
          }
        } finally {
          options.SHOW_SEARCH_SUMMARY = summaries;
        }
        _finishSearch(results.length);
        // ... then each page's summary, best first, one page parsed at a time
        generation += 1; // a summary still coming is for an older list
        if (summaries) {
          KoSearch.summaries = new Promise((resolve) =>
            setTimeout(() => summarize(shown, searchTerms, highlightTerms).then(resolve), 0),
          );
        }
      };
    }
    // Search.init runs the URL's query on DOMContentLoaded, after the deferred scripts: start it as
    // soon as the page is parsed, and let init's own call pass.
    if (document.readyState !== "loading") {
      inPlace(document.getElementById("search-results"));
      return;
    }
    const query = new URLSearchParams(window.location.search).get("q");
    const perform = Search.performSearch;
    let early = false;
    Search.performSearch = (q) => {
      if (early && q === query) early = false;
      else perform(q);
    };
    document.addEventListener("readystatechange", () => {
      if (document.readyState !== "interactive") return;
      const out = document.getElementById("search-results");
      if (!out) return; // not the search page
      if (query) {
        early = true;
        perform(query);
      }
      inPlace(out);
    });
    document.addEventListener("DOMContentLoaded", () => (early = false)); // after Search.init's
  };

  /* On the search page, a new query is searched in place: no new page to load and parse. */
  const inPlace = (out) => {
    if (!out) return;
    const run = (q) => {
      document.querySelectorAll('input[name="q"]').forEach((input) => (input.value = q));
      while (out.lastChild) out.removeChild(out.lastChild);
      Search.stopPulse();
      Search.performSearch(q);
    };
    document.querySelectorAll("form").forEach((form) => {
      const input = form.querySelector('input[name="q"]');
      const action = new URL(form.action || "", window.location.href);
      if (!input || action.pathname !== window.location.pathname) return;
      form.addEventListener("submit", (event) => {
        const q = input.value.trim();
        if (!q) return;
        event.preventDefault();
        input.blur(); // a phone's keyboard closes over the results
        const dialog = form.closest("dialog");
        if (dialog && dialog.open) dialog.close();
        const url = new URL(window.location.href);
        url.searchParams.set("q", q);
        url.hash = "";
        window.history.pushState({ q }, "", url);
        run(q);
      });
    });
    window.addEventListener("popstate", () => {
      const q = new URLSearchParams(window.location.search).get("q");
      if (q) run(q);
    });
  };
  if (typeof Search !== "undefined") patch();
  else document.addEventListener("readystatechange", patch);

  // summaries: the promise of the current list's summaries (for tests)
  return { stem, rewrite, onePerPage, bonus, terms: [], summaries: Promise.resolve() };
})();

/* searchtools.js makes one Stemmer per query: remember the query's keys for the scorer. */
var Stemmer = function () {
  KoSearch.terms = [];
  this.stemWord = (word) => {
    const key = KoSearch.stem(word);
    KoSearch.terms.push(key);
    return key;
  };
};

/* Sphinx's default weights, plus the ranking bonus of the page for the query's keys. */
var Scorer = {
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
  score: (result) => {
    const [docName, , anchor, , score, , kind] = result;
    if (kind === "object") return score;
    // glossary and index entries (score up to 100): keep them below the chapter about the term
    if (kind === "index") return Math.round(score / 4);
    // a section hit ranks just below its own page
    return score + KoSearch.bonus(docName, KoSearch.terms) - (anchor ? 1 : 0);
  },
};
