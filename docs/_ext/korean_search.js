/*
 * Korean search, query side (see korean_search.py). Inserted into language_data.js after
 * KO_SEARCH_DATA, which the build derives from kiwipiepy's analysis of this site:
 *   units       every unit in the index (morphemes and word keys)
 *   suffixes    particle/ending chains seen after a key, as written, longest first
 *   exceptions  words whose key the suffix rule cannot recover (가려진 -> 가리)
 *   docs, weights  ranking bonus per unit: [docIndex, bonus, docIndex, bonus, ...]
 */
var KoSearch = (() => {
  const data = KO_SEARCH_DATA;
  const units = new Set(data.units || []);
  const suffixes = data.suffixes || [];
  const exceptions = data.exceptions || {};
  const weights = data.weights || {};
  const docIndex = new Map((data.docs || []).map((doc, i) => [doc, i]));

  /* Same rule as strip_suffix() in korean_search.py. */
  const stem = (word) => {
    if (Object.prototype.hasOwnProperty.call(exceptions, word)) return exceptions[word];
    if (units.has(word)) return word;
    for (const suffix of suffixes) {
      if (suffix.length < word.length && word.endsWith(suffix)) {
        const rest = word.slice(0, -suffix.length);
        if (units.has(rest)) return rest;
      }
    }
    return word;
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

  return { stem, bonus, terms: [] };
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
