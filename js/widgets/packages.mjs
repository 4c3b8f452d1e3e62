// The packages the widget bundle shares with federated widget libraries (src/share_scope.js),
// with the versions node_modules has at build time: ipywidgets' modules and every @lumino
// package (the bundle has them all: html-manager and the controls use them). build.mjs makes the
// module `pycomm-widgets:packages` of them, and checks the bundle has no other copy of one.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** ipywidgets' modules; src/modules.js shares its own module objects of them. */
export const WIDGET_PACKAGES = ["@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output"];

/** @param {string} dir @returns {Promise<string>} */
async function versionIn(dir) {
  return JSON.parse(await readFile(join(dir, "package.json"), "utf8")).version;
}

/**
 * name -> version of the packages shared, as installed in `nodeModules`.
 * @param {string} nodeModules
 * @returns {Promise<Record<string, string>>}
 */
export async function sharedVersions(nodeModules) {
  const entries = await readdir(join(nodeModules, "@lumino"), { withFileTypes: true });
  const lumino = entries.filter((e) => e.isDirectory()).map((e) => `@lumino/${e.name}`).sort();
  /** @type {Record<string, string>} */ const versions = {};
  for (const name of [...WIDGET_PACKAGES, ...lumino]) versions[name] = await versionIn(join(nodeModules, name));
  return versions;
}

/**
 * The source of `pycomm-widgets:packages`: `LUMINO`, `[name, version, module]` of each @lumino
 * package, and `VERSIONS`, name -> version of them all.
 * @param {Record<string, string>} versions
 */
export function packagesModule(versions) {
  const lumino = Object.keys(versions).filter((name) => name.startsWith("@lumino/"));
  const imports = lumino.map((name, i) => `import * as p${i} from ${JSON.stringify(name)};`);
  const list = lumino.map((name, i) => `[${JSON.stringify(name)}, ${JSON.stringify(versions[name])}, p${i}]`);
  return `${imports.join("\n")}\nexport const LUMINO = [${list.join(", ")}];\nexport const VERSIONS = ${JSON.stringify(versions)};\n`;
}

/**
 * The bundle's inputs that are a copy of a @lumino package the share scope does not stand for:
 * one nested in another package's node_modules (another version), or one not shared.
 * @param {string[]} inputs the bundle's input files (esbuild's metafile)
 * @param {Record<string, string>} versions
 */
export function unsharedCopies(inputs, versions) {
  const copies = new Set();
  for (const input of inputs) {
    const parts = input.split("node_modules/");
    const name = parts.at(-1)?.match(/^@lumino\/[^/]+/)?.[0];
    if (name && (parts.length > 2 || !(name in versions))) copies.add(input.slice(0, input.lastIndexOf(name) + name.length));
  }
  return [...copies];
}
