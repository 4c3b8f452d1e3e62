// Bundle src/index.js into one ES module, dist/widgets.js: minified, the widget packages'
// CSS inside (put in the page by the bundle itself), no imports left at run time.
//   npm ci && npm run build
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

import { packagesModule, sharedVersions, unsharedCopies } from "./packages.mjs";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const OUTFILE = here("dist/widgets.js");
/** The packages federated libraries share with the bundle, and their versions (packages.mjs). */
const SHARED = await sharedVersions(here("node_modules"));

/** Font Awesome's @font-face rules name five formats: keep the woff2 one (inlined), drop the rest. */
const woff2Only = {
  name: "fontawesome-woff2-only",
  setup(build) {
    build.onLoad({ filter: /fontawesome-free[\\/]css[\\/](solid|regular)\.min\.css$/ }, async (args) => {
      const css = await readFile(args.path, "utf8");
      const out = css.replace(/src:url\(([^)]*)\.eot\);src:[^;}]*/g, 'src:url($1.woff2) format("woff2")');
      if (out === css) throw new Error(`no @font-face src rewritten in ${args.path}`);
      return { contents: out, loader: "css" };
    });
  },
};

/** One CSS file bundled (its @imports, fonts as data: URLs) into a string. */
async function cssText(entry) {
  const result = await esbuild.build({
    entryPoints: [here(entry)],
    bundle: true,
    minify: true,
    write: false,
    legalComments: "none",
    loader: { ".woff2": "dataurl" },
    plugins: [woff2Only],
    logLevel: "warning",
  });
  const text = result.outputFiles[0].text;
  const external = text.match(/url\((?!["']?data:)[^)]*\)/);
  if (external) throw new Error(`${entry}: the CSS would fetch ${external[0]}`);
  return text;
}

/** `import ... from "pycomm-widgets:css"`: the CSS texts. */
const cssModule = {
  name: "css-module",
  setup(build) {
    build.onResolve({ filter: /^pycomm-widgets:css$/ }, (args) => ({ path: args.path, namespace: "css" }));
    build.onLoad({ filter: /.*/, namespace: "css" }, async () => ({
      contents: `export const widgets = ${JSON.stringify(await cssText("src/widgets.css"))};\n` +
        `export const labvariables = ${JSON.stringify(await cssText("src/labvariables.css"))};\n`,
      loader: "js",
    }));
  },
};

/** `import ... from "pycomm-widgets:packages"`: the shared packages, with their versions. */
const packagesVirtual = {
  name: "packages-module",
  setup(build) {
    build.onResolve({ filter: /^pycomm-widgets:packages$/ }, (args) => ({ path: args.path, namespace: "packages" }));
    build.onLoad({ filter: /.*/, namespace: "packages" }, () => ({ contents: packagesModule(SHARED), loader: "js", resolveDir: here(".") }));
  },
};

/** anywidget's dist is AMD (`define([...], widget_default)`): export its factory instead. */
const anywidgetFactory = {
  name: "anywidget-factory",
  setup(build) {
    build.onLoad({ filter: /[\\/]anywidget[\\/]dist[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const amd = 'define(["@jupyter-widgets/base"], widget_default);';
      if (source.split(amd).length !== 2) throw new Error(`anywidget: expected one ${amd} in ${args.path}`);
      return { contents: source.replace(amd, "export default widget_default;"), loader: "js" };
    });
  },
};

/** html-manager also serves ipywidgets 7 (base7, controls7); this manager does not load them. */
const noWidgets7 = {
  name: "no-ipywidgets-7",
  setup(build) {
    build.onResolve({ filter: /^@jupyter-widgets\/(base7|controls7)(\/|$)/ }, (args) => ({ path: args.path, namespace: "none" }));
    build.onLoad({ filter: /.*/, namespace: "none" }, () => ({ contents: "module.exports = {};", loader: "js" }));
  },
};

const result = await esbuild.build({
  entryPoints: [here("src/index.js")],
  outfile: OUTFILE,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "eof",
  // the packages' own CSS imports: the CSS comes from cssModule; JupyterLab's icons are SVG text
  loader: { ".css": "empty", ".svg": "text" },
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [cssModule, packagesVirtual, anywidgetFactory, noWidgets7],
  metafile: true,
  logLevel: "warning",
});
const output = Object.values(result.metafile.outputs)[0];
const external = output.imports.filter((i) => i.external && !i.path.startsWith("data:"));
if (external.length) throw new Error(`the bundle imports at run time: ${external.map((i) => i.path).join(", ")}`);
const copies = unsharedCopies(Object.keys(result.metafile.inputs), SHARED);
if (copies.length) throw new Error(`the bundle has @lumino packages its share scope does not hold: ${copies.join(", ")}`);
console.log(`${OUTFILE}: ${(output.bytes / 1024).toFixed(0)} KiB`);
if (process.env.ANALYZE) console.log(await esbuild.analyzeMetafile(result.metafile));
