/* irld's HTML link report: the page's own script (no library, no network).
 *
 * Reads the JSON the linker embedded (linker/report/htmlpage.py describes its
 * columns) and draws:
 *  - a treemap of the output bytes, squarified (Bruls, Huizing, van Wijk,
 *    "Squarified Treemaps", 2000): grouped by archive, archive member or
 *    object, then entity (area = own bytes), or the dominator tree (area =
 *    retained bytes: what would leave the output with the entity).  In a
 *    view of total T, an entity or group smaller than T / AGGREGATE is not
 *    drawn alone: the small ones of a group share one hatched rectangle, so
 *    a view never has more than AGGREGATE entity rectangles;
 *  - a side panel: the selected entity's why-chain (the breadth-first
 *    search's parents, as `irld why`), its references both ways, and its
 *    dominator subtree; an overview; the FFI signatures; the garbage;
 *  - search over live and dead symbols and the symbols of unloaded archive
 *    members;
 *  - for two reports, the diff: what grew, shrank, appeared, disappeared.
 * `window.irld` exposes the state for tests and the benchmark.
 */
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("irld-data").textContent);
  // A view draws an entity alone when it has at least 1/AGGREGATE of the view's bytes;
  // `#aggregate=N` in the address changes N (tests use a small one).
  const AGGREGATE = (() => { const m = /aggregate=(\d+)/.exec(location.hash); return m ? Math.max(1, +m[1]) : 8000; })();
  const PALETTE = ["#4e79a7", "#2a9d8f", "#59a14f", "#a0b84a", "#f28e2b", "#8e6bbf", "#c08bb3", "#9aa3ad"];
  const CHANGE = ["grew", "shrank", "appeared", "disappeared", "unchanged"];
  const CHANGE_COLOUR = ["#d9534f", "#3f9e5a", "#f28e2b", "#5b7fbf", "#b5bcc6"];
  const $ = (id) => document.getElementById(id);
  const api = window.irld = { mode: D.mode, ready: false, threshold: 0, aggregate: AGGREGATE };

  // ------------------------------------------------------------ helpers

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) for (const k in attrs) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of kids) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  const num = (n) => n.toLocaleString("en-US");
  function size(n) {
    if (n < 1024) return num(n) + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(2) + " MiB";
  }
  const signed = (n) => (n > 0 ? "+" : n < 0 ? "\u2212" : "\u00b1") + size(Math.abs(n));
  const pct = (n, of) => of > 0 ? (100 * n / of).toFixed(n * 1000 < of ? 3 : 2) + "%" : "";
  // An input as shown where space is short: the archive's or object's file name, and the member.
  function short(input) {
    const m = /^(.*)\(([^()]*)\)$/.exec(input);
    const base = (p) => p.slice(p.lastIndexOf("/") + 1);
    return m ? base(m[1]) + "(" + m[2] + ")" : base(input);
  }
  const clear = (e) => { while (e.firstChild) e.removeChild(e.firstChild); return e; };

  // ------------------------------------------------------------ the model

  const isDiff = D.mode === "diff";
  const L = isDiff ? null : D.live;
  const DE = isDiff ? null : D.dead;
  const E = isDiff ? D.ents : null;
  const nLive = isDiff ? E.n.length : L.n.length;
  // Offsets of the compressed rows: live references (out-degrees), dead referrers (capped counts).
  function offsets(counts, cap) {
    const o = new Int32Array(counts.length + 1);
    for (let i = 0; i < counts.length; i++) o[i + 1] = o[i] + Math.min(counts[i], cap);
    return o;
  }
  if (!isDiff) { L.eo = offsets(L.eg, Infinity); DE.ro = offsets(DE.rc, DE.rmax); }
  const inputOf = (v) => D.inputs[isDiff ? E.i[v] : L.i[v]];
  const nameOf = (v) => isDiff ? E.n[v] : L.n[v];
  const classOf = (v) => isDiff ? E.c[v] : L.c[v];
  // Diff: change class, area (the larger of the two sizes), delta.
  function change(v) {
    const o = E.o[v], w = E.w[v];
    if (o < 0) return 2;
    if (w < 0) return 3;
    return w > o ? 0 : w < o ? 1 : 4;
  }
  const ownSize = (v) => isDiff ? Math.max(E.o[v], E.w[v]) : L.b[v];
  const totalOwn = (() => { let t = 0; for (let v = 0; v < nLive; v++) t += ownSize(v); return t; })();

  // Treemap nodes: {name, size, kids (array, or null for a leaf), ent (-1 or entity), parent, key}.
  function groupNode(name, key) { return { name, key, size: 0, kids: [], ent: -1, parent: null }; }
  function leaf(v, sz) { return { name: nameOf(v), key: "e" + v, size: sz, kids: null, ent: v, parent: null }; }
  const bySize = (a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

  // By input: archive -> member -> entity, or object -> entity.
  let inputTree = null;
  const groupOfInput = new Map();
  function buildInputTree() {
    const root = groupNode(isDiff ? "all entities" : (D.title || "output"), "root");
    const archives = new Map();
    for (let v = 0; v < nLive; v++) {
      const sz = ownSize(v);
      if (sz <= 0) continue;
      const input = inputOf(v);
      let g = groupOfInput.get(input);
      if (!g) {
        g = groupNode(short(input), "i" + input);
        groupOfInput.set(input, g);
        const m = /^(.*)\(([^()]*)\)$/.exec(input);
        let parent = root;
        if (m) {
          parent = archives.get(m[1]);
          if (!parent) {
            parent = groupNode(short(m[1]), "a" + m[1]);
            parent.parent = root; root.kids.push(parent); archives.set(m[1], parent);
          }
          g.name = m[2];
        }
        g.parent = parent; parent.kids.push(g);
      }
      const n = leaf(v, sz); n.parent = g; g.kids.push(n);
    }
    const fix = (n) => {
      if (!n.kids) return n.size;
      let s = 0; for (const k of n.kids) s += fix(k);
      n.kids.sort(bySize); n.size = s; return s;
    };
    fix(root);
    return root;
  }

  // The dominator tree: an entity with dominated entities is a group of itself and them.
  let domTree = null, domKids = null;
  const domNodes = new Map();
  function buildDomTree() {
    domKids = Array.from({ length: nLive }, () => []);
    const top = [];
    for (let v = 0; v < nLive; v++) {
      if (L.dist[v] < 0) continue;
      if (L.d[v] < 0) top.push(v); else domKids[L.d[v]].push(v);
    }
    const byRetained = (a, b) => L.r[b] - L.r[a] || (L.n[a] < L.n[b] ? -1 : 1);
    for (const ks of domKids) ks.sort(byRetained);
    top.sort(byRetained);
    const root = groupNode("all roots (dominator tree)", "root");
    root.kids = top.filter((v) => L.r[v] > 0).map((v) => domNode(v, root));
    root.size = root.kids.reduce((s, k) => s + k.size, 0);
    return root;
  }
  function domNode(v, parent) {
    const hasKids = domKids[v].some((c) => L.r[c] > 0);
    const n = hasKids ? groupNode(L.n[v], "d" + v) : leaf(v, L.r[v]);
    n.size = L.r[v]; n.parent = parent; n.dom = v;
    if (hasKids) {
      // Children are made when the group is first drawn: the tree may be thousands deep.
      n.kids = null; n.lazy = true; n.ent = -1;
    }
    domNodes.set(v, n);
    return n;
  }
  function kidsOf(n) {
    if (n.lazy && !n.kids) {
      const v = n.dom;
      const self = leaf(v, L.b[v]); self.parent = n;
      const ks = domKids[v].filter((c) => L.r[c] > 0).map((c) => domNode(c, n));
      n.kids = (L.b[v] > 0 ? [self, ...ks] : ks).sort(bySize);
    }
    return n.kids;
  }

  // ------------------------------------------------------------ squarified layout

  // Rectangles [x, y, w, h] for values sorted in decreasing order, filling the rectangle.
  function squarify(vals, x, y, w, h) {
    const out = new Array(vals.length);
    let total = 0; for (const s of vals) total += s;
    if (total <= 0 || w <= 0 || h <= 0) { for (let i = 0; i < vals.length; i++) out[i] = [x, y, 0, 0]; return out; }
    const scale = (w * h) / total;
    let i = 0;
    while (i < vals.length) {
      const side = Math.min(w, h);
      let sum = 0, mn = Infinity, mx = 0, j = i, best = Infinity;
      while (j < vals.length) {
        const a = vals[j] * scale, s = sum + a, lo = Math.min(mn, a), hi = Math.max(mx, a);
        const worst = Math.max((side * side * hi) / (s * s), (s * s) / (side * side * lo));
        if (j > i && worst > best) break;
        best = worst; sum = s; mn = lo; mx = hi; j++;
      }
      if (w >= h) {                                   // a column at the left
        const cw = Math.min(w, sum / h); let yy = y;
        for (let k = i; k < j; k++) { const hh = cw > 0 ? vals[k] * scale / cw : 0; out[k] = [x, yy, cw, hh]; yy += hh; }
        x += cw; w -= cw;
      } else {                                        // a row at the top
        const rh = Math.min(h, sum / w); let xx = x;
        for (let k = i; k < j; k++) { const ww = rh > 0 ? vals[k] * scale / rh : 0; out[k] = [xx, y, ww, rh]; xx += ww; }
        y += rh; h -= rh;
      }
      i = j;
    }
    return out;
  }

  // ------------------------------------------------------------ the treemap

  const map = $("map");
  const state = { area: "own", zoom: null, sel: -1, selDead: -1 };
  api.state = state;
  const rectOf = new Map();            // entity -> its rectangle element in the current view

  function currentRoot() {
    if (state.area === "retained") return domTree || (domTree = buildDomTree());
    return inputTree || (inputTree = buildInputTree());
  }

  function colour(v) {
    return isDiff ? CHANGE_COLOUR[change(v)] : PALETTE[classOf(v)];
  }

  function place(e, r) {
    e.style.left = r[0] + "px"; e.style.top = r[1] + "px";
    e.style.width = Math.max(0, r[2]) + "px"; e.style.height = Math.max(0, r[3]) + "px";
  }

  function draw() {
    const root = state.zoom || currentRoot();
    state.zoom = root;
    clear(map); rectOf.clear();
    const W = map.clientWidth, H = map.clientHeight;
    const thr = root.size / AGGREGATE;
    api.threshold = thr;
    const frag = document.createDocumentFragment();
    drawKids(frag, root, [0, 0, W, H], thr);
    map.append(frag);
    crumbs(root);
    if (state.sel >= 0 && rectOf.has(state.sel)) rectOf.get(state.sel).classList.add("sel");
    api.drawn = rectOf.size;
  }

  function drawKids(parentEl, node, r, thr) {
    const [x, y, w, h] = r;
    if (w < 2 || h < 2) return;
    const kids = kidsOf(node) || [];
    const shown = [];
    let restSize = 0, restCount = 0;
    const byClass = new Map();
    for (const k of kids) {
      if (k.size >= thr && k.size > 0) shown.push(k);
      else if (k.size > 0) { restSize += k.size; restCount += tally(k, byClass); }
    }
    const items = shown.slice();
    if (restSize > 0) {
      let cls = -1, most = -1;
      for (const [c, s] of byClass) if (s > most) { most = s; cls = c; }
      items.push({ rest: true, size: restSize, count: restCount, parent: node, cls });
    }
    const rects = squarify(items.map((k) => k.size), x, y, w, h);
    items.forEach((k, i) => {
      const kr = rects[i];
      if (k.rest) return parentEl.append(restRect(k, kr));
      if (!k.kids && !k.lazy) return parentEl.append(entityRect(k, kr));
      const g = el("div", { class: "g", "data-key": k.key, "data-size": k.size });
      place(g, kr);
      parentEl.append(g);
      const head = kr[3] > 32 && kr[2] > 40;
      if (head) {
        g.append(el("div", { class: "h", title: k.name, text: k.name + " \u00b7 " + size(k.size),
          onclick: (ev) => { ev.stopPropagation(); zoomTo(k); } }));
      }
      g.addEventListener("click", (ev) => { if (ev.target === g) zoomTo(k); });
      const top = head ? 15 : 1;
      drawKids(g, k, [1, top, kr[2] - 4, kr[3] - top - 3], thr);
    });
  }
  // The leaves under n (a lazy dominator group counts as one), adding their bytes by colour.
  function tally(n, byClass) {
    if (!n.kids) {
      const key = n.lazy ? (isDiff ? change(n.dom) : classOf(n.dom)) : (isDiff ? change(n.ent) : classOf(n.ent));
      byClass.set(key, (byClass.get(key) || 0) + n.size);
      return 1;
    }
    let c = 0; for (const k of n.kids) c += tally(k, byClass); return c;
  }

  function entityRect(n, r) {
    const v = n.ent;
    const e = el("div", { class: "e", "data-e": v, "data-name": n.name, "data-size": n.size });
    if (isDiff) {
      e.dataset.change = CHANGE[change(v)];
      if (change(v) === 3) e.classList.add("gone");
    }
    e.style.background = colour(v);
    place(e, r);
    if (r[2] > 46 && r[3] > 15) {
      e.textContent = n.name;
      if (r[3] > 30 && r[2] > 56) e.append(el("span", { class: "sz", text: size(n.size) }));
    }
    e.addEventListener("click", (ev) => { ev.stopPropagation(); select(v); });
    rectOf.set(v, e);
    return e;
  }

  function restRect(k, r) {
    const e = el("div", { class: "x", "data-size": k.size });
    if (k.cls >= 0) e.style.backgroundColor = isDiff ? CHANGE_COLOUR[k.cls] : PALETTE[k.cls];
    place(e, r);
    if (r[2] > 60 && r[3] > 15) e.textContent = num(k.count) + " smaller";
    e.dataset.tip = num(k.count) + " smaller entities, " + size(k.size) + " together";
    e.addEventListener("click", (ev) => { ev.stopPropagation(); showRest(k.parent); });
    return e;
  }

  function zoomTo(n) { state.zoom = n; draw(); }

  function crumbs(n) {
    const path = [];
    for (let p = n; p; p = p.parent) path.unshift(p);
    const nav = clear($("crumbs"));
    path.forEach((p, i) => {
      if (i) nav.append(el("span", { class: "sep", text: "\u203a" }));
      const label = p.name + " (" + size(p.size) + ")";
      nav.append(i === path.length - 1 ? el("b", { text: label })
        : el("a", { text: label, onclick: () => zoomTo(p) }));
    });
  }

  // Tooltip
  const tip = $("tip");
  map.addEventListener("mousemove", (ev) => {
    const t = ev.target.closest(".e, .x, .h");
    if (!t) { tip.hidden = true; return; }
    clear(tip);
    if (t.classList.contains("e")) tip.append(...entityTip(+t.dataset.e));
    else if (t.classList.contains("x")) tip.append(t.dataset.tip);
    else tip.append(t.title);
    tip.hidden = false;
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  });
  map.addEventListener("mouseleave", () => { tip.hidden = true; });

  function entityTip(v) {
    const out = [el("div", { class: "sym", text: nameOf(v) }), el("div", { text: short(inputOf(v)) })];
    if (isDiff) {
      const o = E.o[v], w = E.w[v];
      out.push(el("div", { text: CHANGE[change(v)] + ": " + (o < 0 ? "\u2014" : size(o)) + " \u2192 " + (w < 0 ? "\u2014" : size(w)) }));
    } else {
      out.push(el("div", { text: D.classes[L.c[v]] + ", " + size(L.b[v]) + " (" + pct(L.b[v], D.out) + " of the output)" }));
      if (L.r[v] !== L.b[v]) out.push(el("div", { text: "retained: " + size(L.r[v]) }));
    }
    return out;
  }

  // ------------------------------------------------------------ the side panel

  const side = $("side");
  const TABS = isDiff ? ["Changes", "Entity"] : ["Overview", "Entity", "FFI", "Garbage"];
  let tab = TABS[0];
  function setTab(t) { tab = t; renderSide(); }
  function renderSide() {
    clear(side);
    side.append(el("div", { class: "tabs" }, ...TABS.map((t) =>
      el("button", { class: t === tab ? "on" : "", text: t, "data-tab": t, onclick: () => setTab(t) }))));
    const body = el("div", { id: "panel" });
    side.append(body);
    const fn = { Overview: overview, Entity: entityPanel, FFI: ffiPanel, Garbage: garbagePanel, Changes: changesPanel }[tab];
    fn(body);
  }

  const symLink = (v, text) => el("a", { class: "sym", text: text || nameOf(v), "data-e": v, onclick: () => select(v) });
  const deadLink = (j) => el("a", { class: "sym", text: DE.n[j], onclick: () => selectDead(j) });

  function card(title, ...kids) { return el("div", { class: "card" }, title ? el("h2", { text: title }) : null, ...kids); }
  function kv(pairs) {
    const dl = el("dl", { class: "kv" });
    for (const [k, v] of pairs) if (v !== null && v !== undefined) dl.append(el("dt", { text: k }), el("dd", null, v));
    return dl;
  }
  function table(head, rows, numeric) {
    const t = el("table", { class: "t" });
    t.append(el("tr", null, ...head.map((h, i) => el("th", { class: numeric[i] ? "n" : "", text: h }))));
    for (const r of rows) t.append(el("tr", r.attrs || null, ...r.cells.map((c, i) => el("td", { class: numeric[i] ? "n" : "" }, c))));
    return t;
  }
  function bar(frac) { const b = el("div", { class: "bar" }, el("span")); b.firstChild.style.width = Math.max(0.5, 100 * frac) + "%"; return b; }

  function overview(body) {
    const entBytes = totalOwn;
    body.append(card("The output",
      kv([["file", D.title], ["size", size(D.out) + " (" + num(D.out) + " bytes)"],
        ["in entities", size(entBytes) + " (" + pct(entBytes, D.out) + ")"],
        ["live entities", num(nLive)], ["dead entities", num(DE.n.length)],
        ["members never loaded", num(D.unloaded.length)],
        ["irld", D.irld || null]])));
    const secs = D.sections.slice().sort((a, b) => b[1] - a[1]);
    body.append(card("Sections", table(["section", "bytes", ""], secs.map((s) => ({
      cells: [s[0], num(s[1]), bar(s[1] / D.out)] })), [false, true, false])));
    const topE = [];
    for (let v = 0; v < nLive; v++) if (L.b[v] > 0) topE.push(v);
    topE.sort((a, b) => L.b[b] - L.b[a] || (L.n[a] < L.n[b] ? -1 : 1));
    body.append(card("Largest entities", table(["entity", "bytes", "retained"], topE.slice(0, 15).map((v) => ({
      cells: [symLink(v), num(L.b[v]), num(L.r[v])] })), [false, true, true])));
    const root = inputTree || (inputTree = buildInputTree());
    const groups = [];
    const walk = (n) => { for (const k of n.kids) if (k.kids) { if (k.kids.some((c) => !c.kids)) groups.push(k); walk(k); } };
    walk(root);
    groups.sort(bySize);
    body.append(card("Largest inputs", table(["input", "bytes", ""], groups.slice(0, 12).map((g) => ({
      cells: [el("a", { class: "lnk", text: g.key.slice(1), onclick: () => { state.area = "own"; modes(); zoomTo(g); } }), num(g.size), bar(g.size / D.out)] })),
    [false, true, false])));
    body.append(card("Roots", table(["root", "kind", "origin"], D.roots.slice(0, 40).map((r) => ({
      cells: [symLink(r[0]), r[1], r[2]] })), [false, false, false]),
      D.roots.length > 40 ? el("div", { class: "note", text: num(D.roots.length - 40) + " more roots" }) : null));
  }

  // The chain from a root, as `irld why` prints it: the entity first, then who referenced it, up to the root.
  function chainOf(v) {
    const out = [[v, null]];
    for (let u = v; L.vp[u] >= 0; u = L.vp[u]) out.push([L.vp[u], D.kinds[L.vk[u]]]);
    return out;
  }
  const VERB = { "call": "called by", "tail call": "tail-called by", "address taken": "address taken by",
    "data reference": "referenced from data", "global access": "accessed by", "ctor": "a ctor of the module of",
    "export": "exported by the member pulled in by", "FFI signature": "signature used by", "linker runtime": "used by" };

  let preds = null;
  function predsOf(v) {
    if (!preds) {
      const cnt = new Int32Array(nLive + 1);
      for (const t of L.et) cnt[t + 1]++;
      for (let i = 0; i < nLive; i++) cnt[i + 1] += cnt[i];
      const fill = cnt.slice(0, nLive), src = new Int32Array(L.et.length), kd = new Int32Array(L.et.length);
      for (let a = 0; a < nLive; a++) for (let j = L.eo[a]; j < L.eo[a + 1]; j++) {
        const p = fill[L.et[j]]++; src[p] = a; kd[p] = L.ek[j];
      }
      preds = { off: cnt, src, kd };
    }
    const out = [];
    for (let j = preds.off[v]; j < preds.off[v + 1]; j++) out.push([preds.src[j], preds.kd[j]]);
    return out;
  }

  function edgeList(edges, limit) {
    const ul = el("ol", { class: "chain plain" });
    const t = el("table", { class: "t" });
    for (const [u, k] of edges.slice(0, limit)) t.append(el("tr", null, el("td", null, symLink(u)), el("td", { class: "note", text: D.kinds[k] }), el("td", { class: "n", text: num(L.b[u]) })));
    const box = el("div", null, t);
    if (edges.length > limit) box.append(el("a", { class: "lnk", text: "show all " + num(edges.length), onclick: (ev) => { box.replaceWith(edgeList(edges, Infinity)); } }));
    void ul;
    return box;
  }

  function entityPanel(body) {
    if (isDiff) return diffEntityPanel(body);
    if (state.sel >= 0) return liveCard(body, state.sel);
    if (state.selDead >= 0) return deadCard(body, state.selDead);
    if (state.unloaded) return unloadedCard(body, state.unloaded);
    body.append(card("No entity selected", el("p", { class: "note", text: "Click a rectangle in the treemap, or search a symbol above (dead ones too), to see why it is in the binary, what it references, what references it, and what would go if it went." })));
  }

  function liveCard(body, v) {
    const e = isDiff ? null : v;
    void e;
    const tags = el("div", null, el("span", { class: "tag live", text: "live" }), el("span", { class: "tag", text: D.ekinds[L.k[v]] }),
      el("span", { class: "tag", text: D.classes[L.c[v]] }));
    const input = inputOf(v);
    const inputLink = el("a", { class: "lnk", text: input, onclick: () => { const g = groupOfInput.get(input); if (g) { state.area = "own"; modes(); zoomTo(g); } } });
    body.append(card(null, el("h2", { class: "sym", id: "sel-name", text: L.n[v] }), tags,
      kv([["input", inputLink], ["bytes", num(L.b[v]) + " (" + pct(L.b[v], D.out) + " of the output)"],
        ["retained", num(L.r[v]) + " (" + pct(L.r[v], D.out) + ")"],
        ["address", L.a[v] >= 0 ? "0x" + L.a[v].toString(16) : null], ["table index", L.t[v] >= 0 ? String(L.t[v]) : null]])));
    // Why
    const ch = chainOf(v);
    const ol = el("ol", { class: "chain", id: "why-chain" });
    ch.forEach(([u, k], i) => {
      ol.append(el("li", { "data-sym": L.n[u] }, i ? el("span", { class: "edge", text: VERB[k] || (k + " from") }) : null, symLink(u), el("span", { class: "note", title: inputOf(u), text: " (" + short(inputOf(u)) + ")" })));
    });
    const last = ch[ch.length - 1][0];
    const root = D.roots.find((r) => r[0] === last);
    ol.append(el("li", { class: "note" }, "root: " + (root ? root[1] + " " + L.n[last] + (root[2] ? " (" + root[2] + ")" : "") : L.n[last])));
    body.append(card(ch.length === 1 ? "Why is it here? (it is a root)" : "Why is it here? (" + (ch.length - 1) + (ch.length === 2 ? " step" : " steps") + " from a root)", ol));
    // If it went
    const kids = (domKids || (buildDomTree(), domKids))[v];
    let count = 0;
    const stack = [v];
    while (stack.length) { const u = stack.pop(); count++; for (const c of domKids[u]) stack.push(c); }
    body.append(card("If it went", el("p", null, "Removing every reference to it would remove " + num(count) + (count === 1 ? " entity" : " entities") + ", " + size(L.r[v]) + " (" + pct(L.r[v], D.out) + " of the output): it and everything only it keeps alive (its dominator subtree)."),
      kids.length ? table(["dominated", "retained"], kids.slice(0, 25).map((c) => ({ cells: [symLink(c), num(L.r[c])] })), [false, true]) : null,
      kids.length > 25 ? el("div", { class: "note", text: num(kids.length - 25) + " more" }) : null,
      kids.length ? el("button", { class: "btn", text: "Show its subtree in the treemap", onclick: () => { state.area = "retained"; modes(); currentRoot(); let n = domNodes.get(v); if (!n) n = pathTo(v); if (n) zoomTo(n); } }) : null));
    const out = [];
    for (let j = L.eo[v]; j < L.eo[v + 1]; j++) out.push([L.et[j], L.ek[j]]);
    body.append(card("References (" + num(out.length) + ")", out.length ? edgeList(out, 30) : el("div", { class: "note", text: "none" })));
    const inn = predsOf(v);
    body.append(card("Referenced by (" + num(inn.length) + ")", inn.length ? edgeList(inn, 30) : el("div", { class: "note", text: "nothing: it is a root" })));
  }

  // The dominator-tree node of v, making the lazy groups on the way down.
  function pathTo(v) {
    const up = [];
    for (let u = v; u >= 0; u = L.d[u]) up.unshift(u);
    let n = null;
    for (const u of up) {
      n = domNodes.get(u);
      if (!n) return null;
      if (n.lazy) kidsOf(n);
    }
    return domNodes.get(v) || null;
  }

  function deadCard(body, j) {
    body.append(card(null, el("h2", { class: "sym", id: "sel-name", text: DE.n[j] }),
      el("div", null, el("span", { class: "tag dead", text: "dead" }), el("span", { class: "tag", text: D.ekinds[DE.k[j]] })),
      kv([["input", D.inputs[DE.i[j]]], ["size", num(DE.s[j]) + " bytes in its object (not in the output)"]])));
    const refs = [];
    for (let p = DE.ro[j]; p < DE.ro[j + 1]; p++) refs.push(DE.rt[p]);
    const why = el("div", { id: "why-dead" });
    if (!DE.rc[j]) why.append(el("p", null, "Not live: not referenced by anything."));
    else {
      why.append(el("p", null, "Not live: referenced only by dead code (" + num(DE.rc[j]) + (DE.rc[j] === 1 ? " entity" : " entities") + "):"));
      why.append(table(["dead referrer", "input"], refs.map((r) => ({ cells: [deadLink(r), short(D.inputs[DE.i[r]])] })), [false, false]));
      if (DE.rc[j] > refs.length) why.append(el("div", { class: "note", text: num(DE.rc[j] - refs.length) + " more" }));
    }
    body.append(card("Why is it not in the output?", why));
  }

  function unloadedCard(body, u) {
    const [sym, m] = u;
    body.append(card(null, el("h2", { class: "sym", id: "sel-name", text: sym }),
      el("div", null, el("span", { class: "tag unloaded", text: "not loaded" })),
      el("p", { id: "why-dead" }, "Not live: defined in " + D.unloaded[m][0] + " (" + size(D.unloaded[m][1]) + "), an archive member nothing pulled in (never loaded).")));
  }

  function select(v) {
    state.sel = v; state.selDead = -1; state.unloaded = null;
    for (const e of map.querySelectorAll(".e.sel")) e.classList.remove("sel");
    let r = rectOf.get(v);
    if (!r && !isDiff) {
      // Not drawn in this view: zoom to its input (or its dominator's group) so it can be seen.
      const g = state.area === "own" ? groupOfInput.get(inputOf(v))
        : (L.dist[v] >= 0 ? (L.d[v] >= 0 ? pathTo(L.d[v]) : currentRoot()) : null);
      if (g && L.b[v] > 0 && L.b[v] >= g.size / AGGREGATE) { zoomTo(g); r = rectOf.get(v); }
    }
    if (r) r.classList.add("sel");
    tab = "Entity"; renderSide();
  }
  function selectDead(j) { state.sel = -1; state.selDead = j; state.unloaded = null; tab = "Entity"; renderSide(); }
  function selectUnloaded(sym, m) { state.sel = -1; state.selDead = -1; state.unloaded = [sym, m]; tab = "Entity"; renderSide(); }

  function showRest(node) {
    const ks = [];
    const thr = api.threshold;
    const walk = (n) => { for (const k of kidsOf(n) || []) { if (k.kids || k.lazy) walk(k); else if (k.size < thr) ks.push(k); } };
    for (const k of kidsOf(node) || []) { if (k.size >= thr) continue; if (k.kids || k.lazy) walk(k); else ks.push(k); }
    ks.sort(bySize);
    tab = isDiff ? "Entity" : "Entity";
    state.sel = -1; state.selDead = -1; state.unloaded = null;
    clear(side);
    renderSide();
    const body = $("panel");
    clear(body);
    body.append(card(num(ks.length) + " smaller entities in " + node.name,
      el("p", { class: "note", text: "Each is below 1/" + AGGREGATE + " of this view (" + size(thr) + "); zoom into a group to see them drawn." }),
      table(["entity", "bytes"], ks.slice(0, 200).map((k) => ({ cells: [symLink(k.ent), num(k.size)] })), [false, true]),
      ks.length > 200 ? el("div", { class: "note", text: num(ks.length - 200) + " more" }) : null));
  }

  function ffiPanel(body) {
    const F = D.ffi;
    if (!F.length) {
      body.append(card("FFI", el("p", { class: "note", text: "No live C signatures: the program makes no ffi_call and no closure through a signature reference, so the linker generated no FFI handlers." })));
      return;
    }
    const t = D.ffit || {};
    const hb = F.reduce((s, f) => s + f.hb, 0), pb = F.reduce((s, f) => s + f.pb, 0);
    body.append(card("FFI" + (t.mode ? " (" + t.mode + ")" : ""), kv([
      ["live C signatures", num(F.length)], ["handler bytes", num(hb)], ["closure pool bytes", num(pb)],
      ["FFI bytes in all", t.total_bytes !== undefined ? num(t.total_bytes) + " (" + pct(t.total_bytes, D.out) + " of the output)" : null],
      ["runtime", t.runtime_bytes !== undefined ? num(t.runtime_bytes) + " bytes" : null],
      ["reserved memory", t.memory_bytes !== undefined ? num(t.memory_bytes) + " bytes" : null]]), baseline()));
    body.append(card("Signatures", table(["C signature", "handler", "pool", "users"], F.map((f) => ({
      attrs: { "data-sig": f.sig },
      cells: [el("div", null, el("div", { class: "sym", text: f.c || f.sig }), f.w ? el("div", { class: "note", text: "wasm " + f.w + (f.sh.length ? "; handler shared with #" + f.sh.join(", #") : "") }) : null),
        num(f.hb), num(f.pb) + (f.ps ? " (" + f.ps + " slots)" : ""),
        el("div", null, ...f.u.slice(0, 6).map((u) => el("div", null, symLink(u)))) ] })), [false, true, true, false])));
  }
  function baseline() {
    const b = D.ffib, t = D.ffit || {};
    if (b) {
      const saving = b.ffi_bytes - (t.total_bytes || 0);
      return el("div", { id: "ffi-saving" }, el("h3", { text: "against " + (b.mode || "the baseline") }),
        kv([["baseline FFI bytes", num(b.ffi_bytes) + " (" + num(b.sigs) + " signatures)"], ["baseline output", num(b.out) + " bytes"],
          ["saving", num(saving) + " FFI bytes" + (t.total_bytes ? " (" + (b.ffi_bytes / t.total_bytes).toFixed(0) + "\u00d7 smaller)" : "") + "; output " + signed(D.out - b.out)]]));
    }
    if (t.mode && String(t.mode).startsWith("exhaustive")) return el("p", { class: "note", text: "This link is the exhaustive baseline itself." });
    return el("p", { class: "note", text: "To see the saving against libffi-wasm's exhaustive set, link the same program with --ffi=exhaustive:4 --report base.json and run irld report --html this.json --ffi-baseline base.json." });
  }

  function garbagePanel(body) {
    const idx = [];
    for (let j = 0; j < DE.n.length; j++) idx.push(j);
    idx.sort((a, b) => DE.s[b] - DE.s[a] || (DE.n[a] < DE.n[b] ? -1 : 1));
    const total = DE.s.reduce((s, x) => s + x, 0);
    body.append(card("Dead entities (" + num(DE.n.length) + ", " + size(total) + ")",
      el("p", { class: "note", text: "In loaded objects but not in the output. Sizes: encoded IR for IR functions, compiled code for C, memory size for data." }),
      table(["entity", "size", "why"], idx.slice(0, 40).map((j) => ({ cells: [deadLink(j), num(DE.s[j]), DE.rc[j] ? "only dead referrers" : "unreferenced"] })), [false, true, false])));
    const um = D.unloaded.map((m, i) => i).sort((a, b) => D.unloaded[b][1] - D.unloaded[a][1]);
    body.append(card("Archive members never loaded (" + num(um.length) + ")", table(["member", "bytes", "symbols"], um.slice(0, 30).map((i) => ({
      cells: [D.unloaded[i][0], num(D.unloaded[i][1]), num(D.unloaded[i][2].length)] })), [false, true, true])));
  }

  // ------------------------------------------------------------ diff

  let changes = null;
  function changeRows() {
    if (changes) return changes;
    changes = [];
    for (let v = 0; v < nLive; v++) {
      const c = change(v);
      if (c !== 4) changes.push(v);
    }
    const delta = (v) => Math.max(E.w[v], 0) - Math.max(E.o[v], 0);
    changes.sort((a, b) => Math.abs(delta(b)) - Math.abs(delta(a)) || (E.n[a] < E.n[b] ? -1 : E.n[a] > E.n[b] ? 1 : 0));
    return changes;
  }
  let changeFilter = -1;
  function changesPanel(body) {
    const rows = changeRows();
    const counts = [0, 0, 0, 0];
    let delta = 0;
    for (const v of rows) { counts[change(v)]++; delta += Math.max(E.w[v], 0) - Math.max(E.o[v], 0); }
    const [o, w] = D.outs;
    body.append(card("What changed", kv([["output", num(o) + " \u2192 " + num(w) + " bytes (" + signed(w - o) + ", " + (o ? (100 * (w - o) / o).toFixed(2) : "0") + "%)"],
      ["entities", signed(delta)]]),
      el("div", { class: "tabs" }, ...[-1, 0, 1, 2, 3].map((c) => el("button", { class: changeFilter === c ? "on" : "", "data-change": c < 0 ? "all" : CHANGE[c],
        text: (c < 0 ? "all " + num(rows.length) : CHANGE[c] + " " + num(counts[c])), onclick: () => { changeFilter = c; map.dataset.only = c < 0 ? "" : CHANGE[c]; renderSide(); } })))));
    const shown = rows.filter((v) => changeFilter < 0 || change(v) === changeFilter);
    const LIMIT = 500;
    body.append(card(null, table(["change", "entity", "old", "new", "delta"], shown.slice(0, LIMIT).map((v) => ({
      attrs: { class: "chg", "data-name": E.n[v], "data-change": CHANGE[change(v)] },
      cells: [el("span", { class: "tag " + CHANGE[change(v)], text: CHANGE[change(v)] }), symLink(v), E.o[v] < 0 ? "\u2014" : num(E.o[v]), E.w[v] < 0 ? "\u2014" : num(E.w[v]),
        el("span", { class: (E.w[v] > E.o[v] ? "pos" : "neg"), text: signedNum(Math.max(E.w[v], 0) - Math.max(E.o[v], 0)) })] })), [false, false, true, true, true]),
      shown.length > LIMIT ? el("div", { class: "note", text: num(shown.length - LIMIT) + " more" }) : null,
      shown.length === 0 ? el("div", { class: "note", text: "nothing" }) : null));
  }
  const signedNum = (n) => (n > 0 ? "+" : "") + num(n);
  function diffEntityPanel(body) {
    const v = state.sel;
    if (v < 0) { body.append(card("No entity selected", el("p", { class: "note", text: "Click a rectangle or a row of the changes." }))); return; }
    const c = change(v);
    body.append(card(null, el("h2", { class: "sym", id: "sel-name", text: E.n[v] }), el("span", { class: "tag " + CHANGE[c], text: CHANGE[c] }),
      kv([["input", inputOf(v)], ["kind", D.classes[E.c[v]]], ["old", E.o[v] < 0 ? "not in the old output" : num(E.o[v]) + " bytes"],
        ["new", E.w[v] < 0 ? "not in the new output" : num(E.w[v]) + " bytes"], ["delta", signedNum(Math.max(E.w[v], 0) - Math.max(E.o[v], 0)) + " bytes"]])));
    const flat = D.chains[String(v)];
    if (!flat) return;
    const ol = el("ol", { class: "chain", id: "why-chain" });
    for (let i = 0; i < flat.length; i += 2) {
      const u = flat[i], k = flat[i + 1];
      ol.append(el("li", { "data-sym": E.n[u] }, k >= 0 ? el("span", { class: "edge", text: VERB[D.kinds[k]] || (D.kinds[k] + " from") }) : null,
        symLink(u), el("span", { class: "note", title: inputOf(u), text: " (" + short(inputOf(u)) + ")" })));
    }
    ol.append(el("li", { class: "note", text: "root: " + E.n[flat[flat.length - 2]] }));
    body.append(card((c === 3 ? "Why it was in the old output" : "Why it is in the new output") + " (" + (flat.length / 2 - 1) + " steps from a root)", ol));
  }

  // ------------------------------------------------------------ search

  const q = $("q"), results = $("results");
  let hits = [], hitOn = 0, lower = null;
  function searchIndex() {
    if (lower) return lower;
    lower = { live: (isDiff ? E.n : L.n).map((s) => s.toLowerCase()), dead: isDiff ? [] : DE.n.map((s) => s.toLowerCase()), un: [] };
    if (!isDiff) D.unloaded.forEach((m, i) => { for (const s of m[2]) lower.un.push([s.toLowerCase(), s, i]); });
    return lower;
  }
  function search(text) {
    const t = text.trim().toLowerCase();
    if (!t) return [];
    const ix = searchIndex();
    const out = [];
    const rank = (s) => s === t ? 0 : s.startsWith(t) ? 1 : 2;
    ix.live.forEach((s, v) => { if (s.includes(t)) out.push({ r: rank(s), st: 0, v, name: nameOf(v) }); });
    ix.dead.forEach((s, j) => { if (s.includes(t)) out.push({ r: rank(s), st: 1, v: j, name: DE.n[j] }); });
    for (const [s, sym, m] of ix.un) if (s.includes(t)) out.push({ r: rank(s), st: 2, v: m, name: sym });
    out.sort((a, b) => a.r - b.r || a.st - b.st || a.name.length - b.name.length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }
  api.search = (text) => search(text).map((h) => [h.name, ["live", "dead", "not loaded"][h.st]]);
  function showResults() {
    hits = search(q.value); hitOn = 0;
    clear(results);
    if (!q.value.trim()) { results.hidden = true; return; }
    const LIMIT = 60;
    hits.slice(0, LIMIT).forEach((h, i) => {
      const st = ["live", "dead", "unloaded"][h.st];
      const sz = h.st === 0 ? (isDiff ? ownSize(h.v) : L.b[h.v]) : h.st === 1 ? DE.s[h.v] : D.unloaded[h.v][1];
      const where = short(h.st === 2 ? D.unloaded[h.v][0] : h.st === 0 ? inputOf(h.v) : D.inputs[DE.i[h.v]]);
      results.append(el("div", { class: "r" + (i === 0 ? " on" : ""), "data-name": h.name, "data-status": st, onclick: () => pick(h) },
        el("span", { class: "tag " + st, text: st === "unloaded" ? "not loaded" : st }), el("span", { class: "nm", text: h.name }),
        el("span", { class: "note", text: size(sz) + " \u00b7 " + where })));
    });
    if (!hits.length) results.append(el("div", { class: "more", text: "no symbol matches" }));
    if (hits.length > LIMIT) results.append(el("div", { class: "more", text: num(hits.length - LIMIT) + " more matches" }));
    results.hidden = false;
  }
  function pick(h) {
    results.hidden = true;
    if (h.st === 0) select(h.v); else if (h.st === 1) selectDead(h.v); else selectUnloaded(h.name, h.v);
  }
  let timer = 0;
  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(showResults, 60); });
  q.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { clearTimeout(timer); showResults(); if (hits.length) pick(hits[hitOn]); }
    else if (ev.key === "Escape") { results.hidden = true; }
    else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const rs = results.querySelectorAll(".r");
      if (!rs.length) return;
      rs[hitOn].classList.remove("on");
      hitOn = (hitOn + (ev.key === "ArrowDown" ? 1 : rs.length - 1)) % rs.length;
      rs[hitOn].classList.add("on"); rs[hitOn].scrollIntoView({ block: "nearest" });
    }
  });
  q.addEventListener("focus", () => { if (q.value.trim()) results.hidden = false; });
  document.addEventListener("click", (ev) => { if (!ev.target.closest(".search")) results.hidden = true; });
  document.addEventListener("keydown", (ev) => {
    if (ev.target === q) return;
    if (ev.key === "/") { ev.preventDefault(); q.focus(); }
    else if ((ev.key === "Escape" || ev.key === "Backspace") && state.zoom && state.zoom.parent) zoomTo(state.zoom.parent);
  });

  // ------------------------------------------------------------ header, modes, legend

  function modes() {
    const m = clear($("modes"));
    if (isDiff) return;
    for (const [k, label, title] of [["own", "own size", "area = the entity's own bytes, grouped by input"],
      ["retained", "retained size", "area = retained bytes: the dominator tree (what would go with it)"]]) {
      m.append(el("button", { class: state.area === k ? "on" : "", text: label, title, "data-area": k,
        onclick: () => { if (state.area !== k) { state.area = k; state.zoom = null; modes(); draw(); } } }));
    }
  }
  function legend() {
    const lg = clear($("legend"));
    if (isDiff) CHANGE.forEach((c, i) => lg.append(el("span", null, el("i", { style: "background:" + CHANGE_COLOUR[i] }), c)));
    else {
      const present = new Set();
      for (let v = 0; v < nLive; v++) if (L.b[v] > 0) present.add(L.c[v]);
      D.classes.forEach((c, i) => { if (present.has(i)) lg.append(el("span", null, el("i", { style: "background:" + PALETTE[i] }), c)); });
    }
    lg.append(el("span", { class: "note", text: "click: select / zoom \u00b7 Esc: zoom out \u00b7 /: search" }));
  }
  function summary() {
    const s = clear($("summary"));
    const item = (label, value) => el("span", null, label + " ", el("b", { text: value }));
    if (isDiff) {
      const [o, w] = D.outs;
      s.append(el("span", { class: "sym", text: D.title }), item("output", size(o) + " \u2192 " + size(w)), item("change", signed(w - o)));
    } else {
      s.append(el("span", { class: "sym", text: D.title }), item("output", size(D.out)), item("live", num(nLive)),
        item("dead", num(DE.n.length)), item("FFI signatures", num(D.ffi.length)));
    }
  }

  // Diff: a style element cannot use the palette; colours are set inline above.
  api.select = (name) => { const v = (isDiff ? E.n : L.n).indexOf(name); if (v >= 0) select(v); return v; };
  api.zoomOut = () => { state.zoom = null; draw(); };
  api.setArea = (a) => { state.area = a; state.zoom = null; modes(); draw(); };

  summary(); modes(); legend(); renderSide(); draw();
  let resizeTimer = 0;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(draw, 100); });
  api.ready = true;
  api.readyAt = performance.now();
  document.body.dataset.ready = "1";
  // The first frame with the treemap: a task queued from the frame's callback runs after it is painted.
  requestAnimationFrame(() => setTimeout(() => { api.paintedAt = performance.now(); }, 0));
})();
