/**
 * anywidget's frontend (`AnyModel`, `AnyView`), made with the bundled @jupyter-widgets/base.
 *
 * The npm package's `dist/index.js` is an AMD module that ends in
 * `define(["@jupyter-widgets/base"], widget_default);`: the build (build.mjs) rewrites that
 * statement to `export default widget_default;`, so the factory is imported here.
 * The widget's own code (`_esm`, from the kernel) is then loaded by anywidget itself.
 * @module anywidget
 */

import * as base from "@jupyter-widgets/base";
import factory from "anywidget";

/** The anywidget version bundled (its Python side sends `_model_module_version: "~0.11.*"`). */
export const ANYWIDGET_VERSION = "0.11.0";

export const { AnyModel, AnyView } = factory(base);
