/**
 * The CSS of the widget packages, put in the page once. The build (build.mjs) bundles it from
 * the packages' CSS, with Font Awesome's solid and regular fonts inlined, into the virtual
 * module imported here.
 * @module styles
 */

import { labvariables, widgets } from "pycomm-widgets:css";

export const STYLE_ID = "pycomm-widgets-style";

/**
 * Add the widgets' CSS to `doc` unless it is there; JupyterLab's variables too, on a page that
 * has none (JupyterLab and Notebook 7 have them), as html-manager does.
 * @param {Document} doc
 */
export function injectStyles(doc) {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement("style");
  style.id = STYLE_ID;
  const lab = getComputedStyle(doc.documentElement).getPropertyValue("--jp-layout-color0") !== "";
  style.textContent = lab ? widgets : `${labvariables}\n${widgets}`;
  doc.head.append(style);
}
