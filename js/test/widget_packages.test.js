// The packages the widget bundle shares with federated libraries (js/widgets/packages.mjs, used
// by build.mjs): their versions as node_modules has them, the module the bundle imports them from,
// and the check that the bundle holds no copy of a @lumino package the share scope does not.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { packagesModule, sharedVersions, unsharedCopies, WIDGET_PACKAGES } from "../widgets/packages.mjs";

test("sharedVersions: ipywidgets' modules and every @lumino package, with the versions installed", async () => {
  const root = await mkdtemp(join(tmpdir(), "pycomm-packages-"));
  try {
    const install = async (name, version) => {
      await mkdir(join(root, name), { recursive: true });
      await writeFile(join(root, name, "package.json"), JSON.stringify({ name, version }));
    };
    for (const name of WIDGET_PACKAGES) await install(name, "6.0.12");
    await install("@lumino/widgets", "2.11.0");
    await install("@lumino/coreutils", "2.2.3");
    await install("@jupyterlab/services", "7.0.0"); // not shared
    assert.deepEqual(await sharedVersions(root), {
      "@jupyter-widgets/base": "6.0.12",
      "@jupyter-widgets/controls": "6.0.12",
      "@jupyter-widgets/output": "6.0.12",
      "@lumino/coreutils": "2.2.3",
      "@lumino/widgets": "2.11.0",
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("packagesModule: each @lumino package imported whole, with its version", () => {
  const source = packagesModule({ "@jupyter-widgets/base": "6.0.12", "@lumino/widgets": "2.11.0" });
  assert.match(source, /^import \* as p0 from "@lumino\/widgets";$/m);
  assert.match(source, /^export const LUMINO = \[\["@lumino\/widgets", "2.11.0", p0\]\];$/m);
  assert.match(source, /^export const VERSIONS = \{"@jupyter-widgets\/base":"6.0.12","@lumino\/widgets":"2.11.0"\};$/m);
});

test("unsharedCopies: a nested copy, or a @lumino package not shared, is reported", () => {
  const versions = { "@lumino/widgets": "2.11.0" };
  assert.deepEqual(unsharedCopies([
    "node_modules/@lumino/widgets/dist/index.es6.js",
    "js/widgets/node_modules/@lumino/widgets/dist/index.es6.js",
    "node_modules/@jupyter-widgets/base/lib/widget.js",
    "src/modules.js",
  ], versions), []);
  assert.deepEqual(unsharedCopies([
    "node_modules/@jupyterlab/apputils/node_modules/@lumino/widgets/dist/index.es6.js",
    "node_modules/@lumino/datagrid/dist/index.es6.js",
  ], versions), ["node_modules/@jupyterlab/apputils/node_modules/@lumino/widgets", "node_modules/@lumino/datagrid"]);
});
