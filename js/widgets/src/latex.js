/**
 * TeX in widgets (HTMLMath, descriptions, LaTeX outputs in Output widgets). JupyterLab and
 * Notebook 7 keep their MathJax to themselves, so this uses a MathJax the page has as a global
 * (MathJax 3's `typesetPromise`, or MathJax 2's `Hub`); without one, the TeX shows as text.
 * @module latex
 */

/** An ILatexTypesetter (@jupyterlab/rendermime-interfaces). */
export const typesetter = {
  /** @param {HTMLElement} element */
  typeset(element) {
    const mathjax = /** @type {any} */ (window).MathJax;
    if (mathjax?.typesetPromise) {
      mathjax.typesetPromise([element]).catch((/** @type {any} */ e) => console.warn("pycomm: MathJax:", e));
    } else if (mathjax?.Hub) {
      mathjax.Hub.Queue(["Typeset", mathjax.Hub, element]);
    }
  },
};
