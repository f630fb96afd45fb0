// Plain SVG charts: a line/point plot and the version lineage graph.
const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// series: [{name, points: [[x, y], ...], step?}]; xLabel(x) formats the x axis.
export function plot(series, { width = 560, height = 200, xLabel = String, yLabel = String, id } = {}) {
  const all = series.flatMap((x) => x.points);
  const pad = { l: 56, r: 12, t: 12, b: 28 };
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "plot", id, role: "img" });
  if (!all.length) {
    svg.append(s("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "muted" }, "nothing to plot yet"));
    return svg;
  }
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(0, ...ys), Math.max(...ys)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) y1 = y0 + 1;
  const X = (x) => pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const Y = (y) => height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  svg.append(s("line", { x1: pad.l, y1: Y(y0), x2: width - pad.r, y2: Y(y0), class: "axis" }));
  svg.append(s("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, class: "axis" }));
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    svg.append(s("text", { x: pad.l - 6, y: Y(y) + 4, "text-anchor": "end", class: "tick" }, yLabel(y)));
  }
  for (const x of [x0, x1]) svg.append(s("text", { x: X(x), y: height - 8, "text-anchor": "middle", class: "tick" }, xLabel(x)));
  series.forEach((one, i) => {
    const pts = one.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`);
    if (pts.length > 1) svg.append(s("polyline", { points: pts.join(" "), class: `series s${i}` }));
    one.points.forEach(([x, y]) => svg.append(s("circle", { cx: X(x), cy: Y(y), r: 3, class: `dot s${i}` }, s("title", {}, `${one.name}: ${yLabel(y)} at ${xLabel(x)}`))));
  });
  series.forEach((one, i) => svg.append(s("text", { x: pad.l + 8 + i * 140, y: pad.t + 10, class: `legend s${i}` }, one.name)));
  return svg;
}

// versions: [{version, parent, cause, deprecated}]; channels: {name: version}; pins: {account: [version, channel]}
export function lineage(versions, channels, pins, { href, nameOf = (who) => `${who.slice(0, 8)}…` } = {}) {
  const step = 64, row = 46, width = Math.max(300, 40 + versions.length * step);
  const lane = new Map();
  let lanes = 0;
  for (const v of versions) {
    const parentLane = v.parent === null || v.parent === undefined ? undefined : lane.get(v.parent);
    const siblings = versions.filter((w) => w.parent === v.parent && w.version < v.version && v.parent !== null);
    const taken = parentLane !== undefined && siblings.length === 0 && ![...lane.entries()].some(([n, l]) => l === parentLane && n > v.parent && n < v.version);
    lane.set(v.version, taken ? parentLane : (parentLane === undefined && lanes === 0 ? 0 : lanes));
    lanes = Math.max(lanes, lane.get(v.version) + 1);
  }
  const height = 40 + lanes * row + 30;
  const X = (n) => 30 + versions.findIndex((v) => v.version === n) * step;
  const Y = (n) => 34 + lane.get(n) * row;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "lineage", id: "lineage", role: "img", style: `max-width: ${width}px` });
  for (const v of versions) {
    if (v.parent !== null && v.parent !== undefined && lane.has(v.parent)) {
      const [ax, ay, bx, by] = [X(v.parent), Y(v.parent), X(v.version), Y(v.version)];
      svg.append(s("path", { d: `M${ax},${ay} C${(ax + bx) / 2},${ay} ${(ax + bx) / 2},${by} ${bx},${by}`, class: `edge ${v.cause}` }));
    }
  }
  const tags = new Map();
  for (const [name, n] of Object.entries(channels || {})) tags.set(n, [...(tags.get(n) || []), name]);
  for (const [who, pin] of Object.entries(pins || {})) {
    const n = Array.isArray(pin) ? (pin[0] ?? (channels || {})[pin[1]]) : pin;
    if (n !== undefined && n !== null) tags.set(n, [...(tags.get(n) || []), `pin: ${nameOf(who)}`]);
  }
  for (const v of versions) {
    const g = s("g", { class: `node ${v.cause}${v.deprecated ? " deprecated" : ""}`, "data-version": v.version });
    g.append(s("circle", { cx: X(v.version), cy: Y(v.version), r: 12 }, s("title", {}, `v${v.version} ${v.cause}`)));
    g.append(s("text", { x: X(v.version), y: Y(v.version) + 4, "text-anchor": "middle" }, v.version));
    const names = tags.get(v.version);
    if (names) g.append(s("text", { x: X(v.version), y: Y(v.version) + 28, "text-anchor": "middle", class: "tag" }, names.join(", ")));
    svg.append(href ? s("a", { href: href(v) }, g) : g);
  }
  return svg;
}
