// MathJax 3 reads this object when tex-chtml.js (served from this site) loads after it.
// pymdownx.arithmatex wraps formulas in \( \) and \[ \] inside elements of class "arithmatex";
// only those are typeset. The fonts load from beside tex-chtml.js ([mathjax]/output/...).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};
