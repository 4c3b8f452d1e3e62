/**
 * The share scope federated JupyterLab extensions are initialized with (webpack module
 * federation's format): the packages of this bundle, each under the version it has here, so that
 * a library's `@jupyter-widgets/base` is the one the manager's models and views are made of.
 * @module share_scope
 */

/**
 * One version of a package in a share scope. `get` resolves to a factory of the module.
 * @typedef {{get: () => Promise<() => any>, loaded: 1, from: string}} Shared
 * @typedef {Record<string, Record<string, Shared>>} ShareScope  package -> version -> Shared
 * @typedef {[name: string, version: string, module: any]} Package  a package of the bundle
 */

/** Whose entries these are (webpack's containers write their own name there). */
export const FROM = "pycomm";

/**
 * A share scope holding `packages`. Each entry is `loaded`: a container that brings its own copy
 * of the same version does not replace a loaded entry when it registers its packages, and a
 * singleton (`@jupyter-widgets/base`) resolves to a loaded version before a newer one that is
 * not. The scope is the page's: containers add their own packages to it, which is how one
 * library's container finds another's (bqplot's scales for ipydatagrid).
 * @param {Package[]} packages
 * @returns {ShareScope}
 */
export function shareScope(packages) {
  /** @type {ShareScope} */ const scope = {};
  for (const [name, version, module] of packages) {
    scope[name] ??= {};
    scope[name][version] = { get: () => Promise.resolve(() => module), loaded: 1, from: FROM };
  }
  return scope;
}
