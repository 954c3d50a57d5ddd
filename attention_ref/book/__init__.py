"""The book's own material: what the pages compute with besides the package's kernels.

- :mod:`~attention_ref.book.toy`: the source notebook's four toy computations;
- :mod:`~attention_ref.book.corpus`: the toy Japanese-English corpus of chapter 7;
- :mod:`~attention_ref.book.plotting`: heatmaps and masks with Korean labels (needs matplotlib);
- :mod:`~attention_ref.book.pages`: the pages' helpers (timing, the machine's name, tables, checks);
- :mod:`~attention_ref.book.views`: the data of the pages' interactive views, computed at build time.

Nothing here is imported by ``attention_ref`` itself.
"""
