"""The JavaScript the browser figure runs in the page (``window.__bench``).

Installed once per page with ``page.evaluate(INSTALL)``. Each measurement is one call of a
``window.__bench`` function, bounded by its own timer, that returns JSON: times in ms from
``performance.now()``. Every check of what came back (data, buffer lengths, bytes) happens
after the clock stopped.

A *channel* is one comm, opened on one of two transports:

- ``pycomm``: ``pycomm.kernel(id).new_comm(target)`` (the bridge websocket);
- ``lab``: JupyterLab's own kernel connection of the notebook panel
  (``sessionContext.session.kernel.createComm(target)``, ``comm.open()``), on the
  subshell JupyterLab asks for (``commsOverSubshells``, per comm target by default) when
  the kernel has subshells.

Both hand every comm message to ``channel.handler`` (one at a time).
"""

from __future__ import annotations

INSTALL = r"""
() => {
  if (window.__bench) return true;
  const B = window.__bench = { channels: {} };
  let nextId = 0;

  B.bound = (promise, ms, what) => {
    let timer;
    const expired = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    });
    return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
  };
  const bytesOf = (b) => b instanceof ArrayBuffer ? new Uint8Array(b)
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  B.pattern = (size, seed) => {  // xorshift bytes: not compressible, reproducible
    const out = new Uint8Array(size);
    let x = seed | 1;
    for (let i = 0; i < size; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      out[i] = x & 255;
    }
    return out;
  };

  const labComm = async (arg) => {
    const panel = window.__harness.panel(arg.path);
    const kernel = panel.sessionContext.session.kernel;
    const comm = kernel.createComm(arg.target);
    await kernel.info;
    const subshells = kernel.supportsSubshells && comm.commsOverSubshells !== "disabled";
    if (subshells) await comm.subshellStarted;
    comm.open({});
    const ch = { handler: null, subshell: comm.subshellId || null };
    comm.onMsg = (msg) => { if (ch.handler) ch.handler(msg); };
    ch.send = (data, buffers) => { comm.send(data, {}, buffers || []); };
    ch.close = () => comm.close();
    return ch;
  };
  const pycommComm = async (arg) => {
    const kernel = window.pycomm.kernel(arg.kernel_id);
    await kernel.ready;
    const comm = kernel.new_comm(arg.target, {});
    await comm.opened;
    const ch = { handler: null, subshell: null };
    comm.on_msg((msg) => { if (ch.handler) ch.handler(msg); });
    ch.send = (data, buffers) => { comm.send(data, {}, buffers || []); };
    ch.close = () => comm.close();
    return ch;
  };
  // -> channel id
  B.open = async (arg) => {
    const open = arg.transport === "pycomm" ? pycommComm : labComm;
    const ch = await B.bound(open(arg), arg.timeout, `open ${arg.transport} ${arg.target}`);
    const id = `c${nextId++}`;
    B.channels[id] = ch;
    return { id, subshell: ch.subshell };
  };
  B.close = (id) => { B.channels[id].close(); delete B.channels[id]; return true; };

  // One message on ch after action(); rejects after ms.
  const next = (ch, ms, action) => B.bound(new Promise((resolve) => {
    ch.handler = (msg) => { ch.handler = null; resolve(msg); };
    action();
  }), ms, "an echo");

  const sameBytes = (got, want) => {
    if (got.length !== want.length) return false;
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return false;
    return true;
  };
  const sampled = (got, want, samples) => {
    if (got.length !== want.length) return false;
    const step = Math.max(1, Math.floor(want.length / samples));
    for (let i = 0; i < want.length; i += step) if (got[i] !== want[i]) return false;
    return got[want.length - 1] === want[want.length - 1];
  };

  // Sequential echoes: {"s": "xxx..."} (kind json) or one buffer (kind binary). -> [ms]
  B.echo = async (arg) => {
    const ch = B.channels[arg.id];
    const binary = arg.kind === "binary";
    const data = binary ? { kind: "binary" } : { s: "x".repeat(arg.size) };
    const buffers = binary ? [B.pattern(arg.size, 7)] : [];
    const times = [], got = [];
    for (let i = 0; i < arg.warmup + arg.count; i++) {
      const start = performance.now();
      const msg = await next(ch, arg.timeout, () => ch.send(data, buffers));
      const elapsed = performance.now() - start;
      if (i >= arg.warmup) { times.push(elapsed); got.push(msg); }
    }
    for (const msg of got) {
      const back = msg.content.data, bufs = msg.buffers || [];
      const ok = binary ? bufs.length === 1 && sameBytes(bytesOf(bufs[0]), buffers[0])
        : bufs.length === 0 && back.s === data.s;
      if (!ok) throw new Error(`echo differs (${bufs.length} buffers)`);
    }
    return times;
  };

  // Buffer echoes, `window` in flight; the first (untimed) is compared byte for byte,
  // the timed ones for order, length and sampled bytes. -> {ms, bytes}
  B.bigEcho = async (arg) => {
    const ch = B.channels[arg.id];
    const payload = B.pattern(arg.size, 11);
    const first = await next(ch, arg.timeout, () => ch.send({ i: -1 }, [payload]));
    if (!sameBytes(bytesOf(first.buffers[0]), payload)) throw new Error("4 MiB echo differs");
    const got = [];
    const start = performance.now();
    await B.bound(new Promise((resolve, reject) => {
      let sent = 0;
      const send = () => ch.send({ i: sent++ }, [payload]);
      ch.handler = (msg) => {
        got.push(msg);
        if (got.length === arg.count) { ch.handler = null; resolve(); }
        else if (sent < arg.count) send();
      };
      while (sent < Math.min(arg.window, arg.count)) send();
    }), arg.timeout, "buffer echoes");
    const elapsed = performance.now() - start;
    got.forEach((msg, i) => {
      const bufs = msg.buffers || [];
      if (msg.content.data.i !== i || bufs.length !== 1) throw new Error(`echo ${i} lost`);
      if (!sampled(bytesOf(bufs[0]), payload, 4096)) throw new Error(`echo ${i} differs`);
    });
    return { ms: elapsed, bytes: arg.count * arg.size };
  };

  // Kernel -> page frames of `size` bytes for `seconds`, credit-based: `window` frames
  // granted at the start, `batch` more after every `batch` received. Rates count the
  // frames received until the stop is sent; all frames count for sent == received.
  B.stream = async (arg) => {
    const ch = B.channels[arg.id];
    const expect = (i) => i & 255;
    let received = 0, bytes = 0, wrong = 0, atStop = 0, bytesAtStop = 0, firstOk = null;
    let stopAt = 0, threshold = arg.batch;  // grant more when received reaches it
    const start = performance.now();
    const report = await B.bound(new Promise((resolve) => {
      ch.handler = (msg) => {
        const data = msg.content.data;
        if ("sent" in data) { ch.handler = null; resolve(data); return; }
        const b = (msg.buffers || [])[0];
        received++;
        bytes += b ? b.byteLength : 0;
        if (!b || b.byteLength !== arg.size || data.n !== received - 1) wrong++;
        if (firstOk === null) {
          const u = bytesOf(b);
          firstOk = [0, 1, 255, 256, 4097, arg.size - 1].every((i) => u[i] === expect(i));
        }
        if (stopAt) return;
        if (performance.now() - start >= arg.seconds * 1000) {
          stopAt = performance.now();
          atStop = received;
          bytesAtStop = bytes;
          ch.send({ stop: true });
        } else if (received >= threshold) {
          threshold += arg.batch;
          ch.send({ credit: arg.batch });
        }
      };
      ch.send({ start: true, size: arg.size, credit: arg.window });
    }), arg.seconds * 1000 + arg.timeout, "the stream's report");
    return {
      ms: stopAt - start, frames: atStop, bytes: bytesAtStop, received, wrong,
      first_bytes_ok: firstOk, sent: report.sent,
    };
  };
  return true;
}
"""
